package providers

import (
	"errors"
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/resolve"
)

const ver = "0123456789abcdef0123456789abcdef"

func TestParseReference(t *testing.T) {
	cases := []struct {
		in   string
		want Reference
	}{
		{"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db-password)",
			Reference{Form: FormSecretURI, Host: "myvault.vault.azure.net", Secret: "db-password"}},
		{"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db-password/)",
			Reference{Form: FormSecretURI, Host: "myvault.vault.azure.net", Secret: "db-password"}},
		{"@Microsoft.KeyVault(SecretUri=https://MyVault.Vault.Azure.Net/secrets/db/" + strings.ToUpper(ver) + "/)",
			Reference{Form: FormSecretURI, Host: "myvault.vault.azure.net", Secret: "db", Version: ver}},
		{"@microsoft.keyvault( secreturi = https://v-1.vault.azure.cn/secrets/x )",
			Reference{Form: FormSecretURI, Host: "v-1.vault.azure.cn", Secret: "x"}},
		{"@Microsoft.KeyVault(SecretUri=https://hsm1.managedhsm.azure.net/secrets/x)",
			Reference{Form: FormSecretURI, Host: "hsm1.managedhsm.azure.net", Secret: "x"}},
		{"@Microsoft.KeyVault(SecretUri=https://127.0.0.1:8443/secrets/x)",
			Reference{Form: FormSecretURI, Host: "127.0.0.1:8443", Secret: "x"}},
		{"@Microsoft.KeyVault(SecretUri=https://[::1]:8443/secrets/x)",
			Reference{Form: FormSecretURI, Host: "[::1]:8443", Secret: "x"}},
		{"@Microsoft.KeyVault(SecretUri=https://default.localhost:8443/secrets/x)",
			Reference{Form: FormSecretURI, Host: "default.localhost:8443", Secret: "x"}},
		{"@Microsoft.KeyVault(VaultName=myvault;SecretName=db)",
			Reference{Form: FormVaultName, VaultName: "myvault", Secret: "db"}},
		{" @Microsoft.KeyVault( VAULTNAME = myvault ; secretname=db;SecretVersion= " + ver + " ; ) \n",
			Reference{Form: FormVaultName, VaultName: "myvault", Secret: "db", Version: ver}},
		{"@Microsoft.KeyVault(VaultName=localhost:8443;SecretName=db)",
			Reference{Form: FormVaultName, Host: "localhost:8443", Secret: "db"}},
		{"keyvault://myvault/db", Reference{Form: FormShort, VaultName: "myvault", Secret: "db"}},
		{"KeyVault://myvault/db/" + ver, Reference{Form: FormShort, VaultName: "myvault", Secret: "db", Version: ver}},
		{"keyvault://127.0.0.1:41234/db", Reference{Form: FormShort, Host: "127.0.0.1:41234", Secret: "db"}},
		{"keyvault://localhost/db", Reference{Form: FormShort, Host: "localhost", Secret: "db"}},
		{"keyvault://myvault.vault.usgovcloudapi.net/db", Reference{Form: FormShort, Host: "myvault.vault.usgovcloudapi.net", Secret: "db"}},
	}
	for _, tc := range cases {
		if !IsReference(tc.in) {
			t.Errorf("IsReference(%q) = false", tc.in)
			continue
		}
		got, err := ParseReference(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseReference(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseReferenceErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db", "not closed"},
		{"@Microsoft.KeyVault()", "names no secret"},
		{"@Microsoft.KeyVault(Vault=myvault;SecretName=db)", `unknown key "Vault"`},
		{"@Microsoft.KeyVault(VaultName=myvault;VaultName=other;SecretName=db)", "VaultName is given twice"},
		{"@Microsoft.KeyVault(VaultName=myvault)", "SecretName is missing"},
		{"@Microsoft.KeyVault(SecretName=db)", "VaultName is missing"},
		{"@Microsoft.KeyVault(VaultName=;SecretName=db)", "VaultName has no value"},
		{"@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x;VaultName=v)", "cannot be combined"},
		{"@Microsoft.KeyVault(SecretUri=http://myvault.vault.azure.net/secrets/db)", "SecretUri must look like"},
		{"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/keys/db)", "SecretUri must look like"},
		{"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db?x=1)", "no query"},
		{"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/a/b/c)", "SecretUri must look like"},
		{"@Microsoft.KeyVault(SecretUri=https://evil.example.com/secrets/db)", `"evil.example.com" is not a key vault host`},
		{"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net:8443/secrets/db)", "is not a key vault host"},
		{"@Microsoft.KeyVault(SecretUri=https://10.0.0.1:8443/secrets/db)", "is not a key vault host"},
		{"@Microsoft.KeyVault(SecretUri=https://u@myvault.vault.azure.net/secrets/db)", "SecretUri must look like"},
		{"@Microsoft.KeyVault(VaultName=my_vault;SecretName=db)", `invalid vault name "my_vault"`},
		{"@Microsoft.KeyVault(VaultName=ab;SecretName=db)", `invalid vault name "ab"`},
		{"@Microsoft.KeyVault(VaultName=a--b;SecretName=db)", `invalid vault name "a--b"`},
		{"@Microsoft.KeyVault(VaultName=myvault;SecretName=db_password)", `invalid secret name "db_password"`},
		{"@Microsoft.KeyVault(VaultName=myvault;SecretName=db;SecretVersion=latest)", `invalid secret version "latest"`},
		{"keyvault://myvault", "keyvault://VAULT/NAME"},
		{"keyvault://myvault/db/" + ver + "/x", "keyvault://VAULT/NAME"},
		{"keyvault://myvault/db/", "nothing after the last '/'"},
		{"keyvault:///db", "invalid vault name"},
		{"keyvault://myvault/", "invalid secret name"},
		{"keyvault://localhost:0/db", "is not a key vault host"},
		{"keyvault://localhost:99999/db", "is not a key vault host"},
		{"keyvault://evil.localhost.example.com/db", "is not a key vault host"},
	}
	for _, tc := range cases {
		if !IsReference(tc.in) {
			t.Errorf("IsReference(%q) = false", tc.in)
			continue
		}
		_, err := ParseReference(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseReference(%q) = %v; want a SyntaxError with %q", tc.in, err, tc.want)
		}
	}
}

func TestNotAReference(t *testing.T) {
	for _, v := range []string{"", "plain", "https://myvault.vault.azure.net/secrets/db", "Microsoft.KeyVault(x)",
		"@Microsoft.KeyVaul(", "keyvault:/x/y", "xkeyvault://a/b", "\u00a0keyvault://a/b", "@Microsoft.AppConfiguration(Endpoint=x)"} {
		if IsReference(v) {
			t.Errorf("IsReference(%q) = true", v)
		}
	}
}

func TestVaultURLFollowsTheCloud(t *testing.T) {
	r, err := ParseReference("keyvault://MyVault/db")
	if err != nil {
		t.Fatal(err)
	}
	for cloud, want := range map[string]string{
		"public": "https://myvault.vault.azure.net",
		"china":  "https://myvault.vault.azure.cn",
		"usgov":  "https://myvault.vault.usgovcloudapi.net",
	} {
		if got := r.VaultURL(resolve.Clouds[cloud]); got != want {
			t.Errorf("%s: %s, want %s", cloud, got, want)
		}
	}
	if r.Emulator() {
		t.Error("a vault name is an emulator")
	}
	h, _ := ParseReference("@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.cn/secrets/db)")
	if got := h.VaultURL(resolve.Clouds["public"]); got != "https://myvault.vault.azure.cn" {
		t.Errorf("a SecretUri host follows the cloud: %s", got)
	}
	if h.Emulator() {
		t.Error("a Key Vault host is an emulator")
	}
}

func TestEmulatorHosts(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "localhost:8443": true, "default.localhost:8443": true, "127.0.0.1": true,
		"127.1.2.3:1": true, "[::1]:8443": true, "[::1]": true,
		"myvault.vault.azure.net": false, "10.0.0.1:8443": false, "localhost.example.com": false,
		"[fe80::1%25lo]:1": false, "localhost:": false, "example.localhost.com:1": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
}

func TestKeyIdentifiesTheSecretVersion(t *testing.T) {
	pub := resolve.Clouds["public"]
	same := []string{
		"keyvault://myvault/db",
		"keyvault://MYVAULT/DB",
		"@Microsoft.KeyVault(VaultName=myvault;SecretName=db)",
		"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db/)",
		"keyvault://myvault.vault.azure.net/db",
	}
	first, _ := ParseReference(same[0])
	for _, s := range same[1:] {
		r, err := ParseReference(s)
		if err != nil || r.Key(pub) != first.Key(pub) {
			t.Errorf("%q: key %q, want %q (%v)", s, r.Key(pub), first.Key(pub), err)
		}
	}
	other, _ := ParseReference("keyvault://myvault/db/" + ver)
	if other.Key(pub) == first.Key(pub) {
		t.Error("a version and the latest share a key")
	}
}

// FuzzParseReference checks that parsing never panics, that only values
// IsReference accepts are parsed, and that a parsed reference is valid and
// parses again, in its short form, to the same secret.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db/" + ver + ")",
		"@Microsoft.KeyVault(VaultName=myvault;SecretName=db;SecretVersion=" + ver + ")",
		"keyvault://myvault/db", "keyvault://127.0.0.1:8443/db", "keyvault://[::1]:1/x",
		"@microsoft.keyvault( secreturi=https://[::1]/secrets/x/ )", "plain value", "", "keyvault://",
		"@Microsoft.KeyVault(", "@Microsoft.KeyVault(;;=;)", "keyvault://a.localhost/b/c/d",
	} {
		f.Add(s)
	}
	pub := resolve.Clouds["public"]
	f.Fuzz(func(t *testing.T, v string) {
		if !IsReference(v) {
			return // left as it is: nothing parses it
		}
		r, err := ParseReference(v)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if (r.VaultName == "") == (r.Host == "") || r.Secret == "" {
			t.Fatalf("incomplete reference %+v", r)
		}
		short := "keyvault://" + r.Vault() + "/" + r.Secret
		if r.Version != "" {
			short += "/" + r.Version
		}
		again, err := ParseReference(short)
		if err != nil || again.Key(pub) != r.Key(pub) || again.Emulator() != r.Emulator() {
			t.Fatalf("%q parses to %+v, its short form %q to %+v (%v)", v, r, short, again, err)
		}
	})
}
