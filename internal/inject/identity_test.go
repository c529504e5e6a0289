package inject

import (
	"testing"

	"github.com/azexec/azexec/internal/resolve"
)

// TestServicePrincipalEnvWinsOverInheritedChoices: variables that would make
// the child's SDK (or Terraform) pick another credential are removed.
func TestServicePrincipalEnvWinsOverInheritedChoices(t *testing.T) {
	env := NewEnv([]string{"AZURE_TOKEN_CREDENTIALS=dev", "AZURE_CLIENT_CERTIFICATE_PATH=/old.pem",
		"ARM_CLIENT_CERTIFICATE_PATH=/stale.pfx", "ARM_USE_MSI=true", "ARM_USE_CLI=true", "PATH=/bin"})
	id := &resolve.Identity{Cloud: resolve.Clouds["public"], Subscription: "sub",
		SP: &resolve.ServicePrincipal{TenantID: "t", ClientID: "c", ClientSecret: "s3cret"}}
	ServicePrincipalEnv(env, id)
	TerraformEnv(env, id)
	for _, k := range []string{"AZURE_TOKEN_CREDENTIALS", "AZURE_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PATH", "ARM_USE_MSI", "ARM_USE_CLI", "AZURE_AUTHORITY_HOST"} {
		if _, ok := env.Get(k); ok {
			t.Errorf("%s survived", k)
		}
	}
	want := map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s3cret",
		"AZURE_SUBSCRIPTION_ID": "sub", "ARM_CLIENT_SECRET": "s3cret", "ARM_SUBSCRIPTION_ID": "sub", "ARM_TENANT_ID": "t", "PATH": "/bin"}
	for k, v := range want {
		if got, _ := env.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
