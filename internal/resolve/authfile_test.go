package resolve

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
)

const sampleAuthFile = `{
  "clientId": "11111111-1111-1111-1111-111111111111",
  "clientSecret": "very-secret-value",
  "subscriptionId": "22222222-2222-2222-2222-222222222222",
  "tenantId": "33333333-3333-3333-3333-333333333333",
  "activeDirectoryEndpointUrl": "https://login.chinacloudapi.cn",
  "resourceManagerEndpointUrl": "https://management.chinacloudapi.cn/",
  "activeDirectoryGraphResourceId": "https://graph.chinacloudapi.cn/",
  "sqlManagementEndpointUrl": "https://management.core.chinacloudapi.cn:8443/",
  "galleryEndpointUrl": "https://gallery.chinacloudapi.cn/",
  "managementEndpointUrl": "https://management.core.chinacloudapi.cn/"
}`

func utf16Bytes(s string, order binary.AppendByteOrder, bom []byte) []byte {
	out := append([]byte{}, bom...)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

func TestParseAuthFileEncodings(t *testing.T) {
	cases := map[string][]byte{
		"utf8":     []byte(sampleAuthFile),
		"utf8 bom": append([]byte{0xEF, 0xBB, 0xBF}, sampleAuthFile...),
		"utf16le":  utf16Bytes(sampleAuthFile, binary.LittleEndian, []byte{0xFF, 0xFE}),
		"utf16be":  utf16Bytes(sampleAuthFile, binary.BigEndian, []byte{0xFE, 0xFF}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			a, err := ParseAuthFile(data)
			if err != nil {
				t.Fatal(err)
			}
			if a.ClientSecret.Reveal() != "very-secret-value" || a.TenantID != "33333333-3333-3333-3333-333333333333" || a.SubscriptionID == "" {
				t.Errorf("parsed %+v", a)
			}
			c := a.Cloud(Clouds["public"])
			if c.Name != "china" || c.AuthorityHost != "https://login.chinacloudapi.cn/" || c.KeyVaultSuffix != "vault.azure.cn" {
				t.Errorf("cloud = %+v", c)
			}
		})
	}
}

func TestParseAuthFileErrorsNeverQuoteContent(t *testing.T) {
	cases := []string{
		`{"clientId": "c", "clientSecret": "very-secret-value"}`,
		`{"clientId": "c", "clientSecret": "very-secret-value", "tenantId": `,
		`["very-secret-value"]`,
		"\xff\xfevery-secret-value\x00",
		`{"tenantId":"t","clientId":"c"}`,
	}
	for _, c := range cases {
		_, err := ParseAuthFile([]byte(c))
		if err == nil {
			t.Errorf("%q: no error", c)
			continue
		}
		if strings.Contains(err.Error(), "very-secret") {
			t.Errorf("error quotes the content: %v", err)
		}
	}
}

func TestAuthFileSecretIsRedactedWhenPrinted(t *testing.T) {
	a, err := ParseAuthFile([]byte(sampleAuthFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a)} {
		if strings.Contains(s, "very-secret-value") {
			t.Errorf("printed form leaks the secret: %s", s)
		}
	}
}

// TestAuthFileMarshalClearRoundTrips: what --inject auth-file writes reads
// back as the same file, secret included, while %v and MarshalJSON stay
// redacted.
func TestAuthFileMarshalClearRoundTrips(t *testing.T) {
	a, err := ParseAuthFile([]byte(sampleAuthFile))
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.MarshalClear()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseAuthFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if *a != *b {
		t.Errorf("round trip changed the file:\n%+v\n%+v", a, b)
	}
	if b.ClientSecret.Reveal() != "very-secret-value" {
		t.Error("secret lost")
	}
	if redacted, _ := json.Marshal(a); strings.Contains(string(redacted), "very-secret-value") {
		t.Error("MarshalJSON leaks the secret")
	}
}

func TestAuthFileCustomCloud(t *testing.T) {
	a := &AuthFile{ResourceManagerEndpointURL: "https://management.local.azurestack.external", ActiveDirectoryEndpointURL: "https://adfs.local.azurestack.external/adfs"}
	c := a.Cloud(Clouds["public"])
	if c.Name != "custom" || c.ResourceManager != "https://management.local.azurestack.external/" || c.AuthorityHost != "https://adfs.local.azurestack.external/adfs/" || c.Known() {
		t.Errorf("cloud = %+v", c)
	}
}

// FuzzParseAuthFile: no input panics, and no error message carries a
// secret-looking value from the input.
func FuzzParseAuthFile(f *testing.F) {
	f.Add([]byte(sampleAuthFile))
	f.Add(utf16Bytes(sampleAuthFile, binary.LittleEndian, []byte{0xFF, 0xFE}))
	f.Add([]byte{0xFE, 0xFF, 0x00})
	f.Add([]byte(`{"clientSecret":"zzsecretzz"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAuthFile(data)
		if err != nil {
			if strings.Contains(err.Error(), "zzsecretzz") {
				t.Fatalf("error leaks content: %v", err)
			}
			return
		}
		if a.TenantID == "" || a.ClientID == "" {
			t.Fatalf("accepted a file without tenant or client: %+v", a)
		}
		_ = a.Cloud(Clouds["public"])
	})
}
