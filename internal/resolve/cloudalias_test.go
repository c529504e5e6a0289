package resolve

import "testing"

// TestLookupCloudAcceptsAzNames: the names az prints (az cloud list) work
// with --cloud in any case, and select the same cloud as azexec's own.
func TestLookupCloudAcceptsAzNames(t *testing.T) {
	for in, want := range map[string]string{
		"AzureCloud": "public", "azurecloud": "public", " AZURECLOUD ": "public",
		"AzureChinaCloud": "china", "azurechinacloud": "china",
		"AzureUSGovernment": "usgov", "azureusgovernment": "usgov",
		"public": "public", "China": "china", "usgov": "usgov",
	} {
		c, err := LookupCloud(in)
		if err != nil || c.Name != want {
			t.Errorf("LookupCloud(%q) = %q, %v; want %q", in, c.Name, err, want)
		}
	}
	for _, bad := range []string{"AzureGermanCloud", "azure", "AzureCloudX", ""} {
		if _, err := LookupCloud(bad); err == nil {
			t.Errorf("LookupCloud(%q) accepted", bad)
		}
	}
}
