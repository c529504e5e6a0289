package resolve

import (
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/fail"
)

// fv builds the assignments of one env file, lines numbered from 1.
func fv(file string, kv ...string) []FileValue {
	var out []FileValue
	for i, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		out = append(out, FileValue{Name: k, Value: v, File: file, Line: i + 1})
	}
	return out
}

func TestCheckEnvFilesRefusesSteering(t *testing.T) {
	// Each of these, in a file that does not hold the credential it would
	// steer, must be refused with the file and line, and no service
	// principal returned.
	names := append(append(append(SteeringVars(), FileReadVars()...), NeverVars()...),
		"HTTPS_PROXY", "https_proxy", "Https_Proxy", "HTTP_PROXY", "ALL_PROXY", "no_proxy", "FTP_PROXY",
		"AZEXEC_AUTH_FILE", "AZEXEC_IDENTITY", "azexec_keyvault_emulator", "azure_authority_host", "Identity_Endpoint", "ARM_METADATA_HOSTNAME", "arm_oidc_token_file_path")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			vals := fv(".env", "APP_NAME=demo", name+"=https://login.attacker.example/")
			for _, spTried := range []bool{true, false} {
				sp, err := CheckEnvFiles(vals, spTried)
				if err == nil || sp != nil {
					t.Fatalf("spTried=%v: %s accepted (sp %v, err %v)", spTried, name, sp, err)
				}
				if fail.KindOf(err) != fail.Usage || !strings.Contains(err.Error(), `".env", line 2`) ||
					!strings.Contains(err.Error(), name) {
					t.Errorf("error %q (kind %v): want a usage error naming .env line 2 and %s", err, fail.KindOf(err), name)
				}
				if strings.Contains(err.Error(), "attacker") {
					t.Errorf("error shows the value: %q", err)
				}
			}
		})
	}
}

func TestCheckEnvFilesSelfContained(t *testing.T) {
	vals := fv("sp.env", "AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZURE_CLIENT_SECRET=s",
		"AZURE_AUTHORITY_HOST=https://login.example/")
	sp, err := CheckEnvFiles(vals, true)
	if err != nil {
		t.Fatal(err)
	}
	if sp == nil || sp.File != "sp.env" || sp.TenantID != "t" || sp.ClientID != "c" || sp.ClientSecret.Reveal() != "s" ||
		sp.AuthorityHost != "https://login.example/" {
		t.Fatalf("got %+v", sp)
	}
	// The same file, but the env source is not tried (--profile, --identity
	// cli): its steering values would reach the child next to another
	// credential.
	// Even next to its own secret, a file may not set what steers the
	// child's other credentials: proxies, trust roots, identity endpoints.
	for _, kv := range []string{"HTTPS_PROXY=http://proxy.example:3128", "Https_Proxy=http://p:1",
		"REQUESTS_CA_BUNDLE=./ca.pem", "IDENTITY_ENDPOINT=http://127.0.0.1:9/", "AZEXEC_AUTH_FILE=/x"} {
		more := append(append([]FileValue(nil), vals...), fv("sp.env", "", "", "", "", "", kv)[5])
		if _, err := CheckEnvFiles(more, true); err == nil || !strings.Contains(err.Error(), "line 6") {
			t.Errorf("%s beside the file's own secret: %v; want line 6 refused", kv, err)
		}
	}
	if _, err := CheckEnvFiles(vals, false); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("spTried=false: %v; want line 4 refused", err)
	}
	// Without steering values, a file's unused service principal is only
	// values for the child.
	if sp, err := CheckEnvFiles(vals[:3], false); err != nil || sp != nil {
		t.Errorf("spTried=false without steering: sp %v, err %v", sp, err)
	}
}

func TestCheckEnvFilesMixedFiles(t *testing.T) {
	ids := fv("ids.env", "AZURE_TENANT_ID=attacker-tenant", "AZURE_CLIENT_ID=attacker-app")
	secret := fv("secret.env", "AZURE_CLIENT_SECRET=s")
	_, err := CheckEnvFiles(append(ids, secret...), true)
	if err == nil || !strings.Contains(err.Error(), `"ids.env", line 1`) || !strings.Contains(err.Error(), "secret.env:1") {
		t.Fatalf("err = %v; want ids.env line 1 refused, naming secret.env:1", err)
	}
	// The secret's file overriding the ids makes it whole again.
	whole := fv("secret.env", "AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZURE_CLIENT_SECRET=s")
	sp, err := CheckEnvFiles(append(ids, whole...), true)
	if err != nil || sp.TenantID != "t" || sp.ClientID != "c" {
		t.Fatalf("sp %+v, err %v", sp, err)
	}
	// An authority in one file and the secret in another.
	authority := fv("committed.env", "AZURE_AUTHORITY_HOST=https://login.attacker.example/")
	if _, err := CheckEnvFiles(append(authority, whole...), true); err == nil {
		t.Fatal("authority from another file than the secret accepted")
	}
}

func TestCheckEnvFilesValues(t *testing.T) {
	// Values for the child, ids without a secret, and empty steering
	// variables pass; nothing is returned for the chain.
	vals := fv(".env", "DB_PASSWORD=keyvault://v/db", "AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c",
		"AZURE_SUBSCRIPTION_ID=s", "AZURE_TOKEN_CREDENTIALS=dev", "AZURE_AUTHORITY_HOST=", "SSL_CERT_FILE=")
	sp, err := CheckEnvFiles(vals, true)
	if err != nil || sp != nil {
		t.Fatalf("sp %v, err %v", sp, err)
	}
	// A later file clearing a steering value wins.
	vals = append(fv("a.env", "AZURE_AUTHORITY_HOST=https://login.attacker.example/"), fv("b.env", "AZURE_AUTHORITY_HOST=")...)
	if _, err := CheckEnvFiles(vals, true); err != nil {
		t.Fatalf("cleared by a later file: %v", err)
	}
}

func TestEnvSourceUsesFileSP(t *testing.T) {
	// The process environment holds the developer's own service
	// principal; the file's whole service principal is used instead, and
	// its authority applies to its own secret only.
	cfg := cfgWith(map[string]string{"AZURE_TENANT_ID": "dev-t", "AZURE_CLIENT_ID": "dev-c", "AZURE_CLIENT_SECRET": "dev-s"})
	cfg.FileSP = &FileServicePrincipal{File: "sp.env", TenantID: "t", ClientID: "c", ClientSecret: "s",
		AuthorityHost: "https://login.example"}
	cand, err := envSource{}.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := cand.Identity
	if id.TenantID != "t" || id.ClientID != "c" || id.SP.ClientSecret.Reveal() != "s" || id.Cloud.AuthorityHost != "https://login.example/" {
		t.Fatalf("identity %+v, cloud %+v", id, id.Cloud)
	}
	if cfg.Cloud.AuthorityHost != Clouds["public"].AuthorityHost {
		t.Errorf("the file's authority leaked into the shared config: %s", cfg.Cloud.AuthorityHost)
	}
}

func TestSourcesReadOnlyTrustedEnv(t *testing.T) {
	// Sources see Config.Env and nothing else: with a federated token
	// file named nowhere but in Subscription (the child's value), the
	// workload source stays unavailable.
	cfg := cfgWith(nil)
	cfg.Subscription = "sub-from-env-file"
	if _, err := (workloadSource{}).Load(cfg); !IsUnavailable(err) {
		t.Fatalf("workload: %v", err)
	}
	cand, err := envSource{}.Load(cfgWith(map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}))
	if err != nil || cand.Identity.Subscription != "" {
		t.Fatalf("cand %+v, err %v", cand, err)
	}
}

func FuzzCheckEnvFiles(f *testing.F) {
	f.Add("AZURE_CLIENT_SECRET", "s", "AZURE_AUTHORITY_HOST", "https://x/", true, false)
	f.Add("AZURE_TENANT_ID", "t", "AZURE_FEDERATED_TOKEN_FILE", "/etc/passwd", true, true)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string, spTried, sameFile bool) {
		file2 := "b.env"
		if sameFile {
			file2 = "a.env"
		}
		vals := []FileValue{{Name: n1, Value: v1, File: "a.env", Line: 1}, {Name: n2, Value: v2, File: file2, Line: 2}}
		sp, err := CheckEnvFiles(vals, spTried)
		if err != nil {
			if sp != nil {
				t.Fatal("both a service principal and an error")
			}
			return
		}
		// Whatever was accepted: a steering or file-read value with a
		// value is only ever accepted next to the secret that is tried.
		for _, v := range vals {
			if v.Value == "" {
				continue
			}
			win := vals[len(vals)-1].Name != v.Name || v == vals[len(vals)-1]
			if !win {
				continue
			}
			if contains(FileReadVars(), strings.ToUpper(v.Name)) || contains(NeverVars(), strings.ToUpper(v.Name)) ||
				strings.HasSuffix(strings.ToUpper(v.Name), "_PROXY") || strings.HasPrefix(strings.ToUpper(v.Name), "AZEXEC_") {
				t.Fatalf("%s accepted", v.Name)
			}
			if contains(SteeringVars(), strings.ToUpper(v.Name)) && (sp == nil || sp.File != v.File) {
				t.Fatalf("%s accepted from %s, sp %+v", v.Name, v.File, sp)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
