package resolve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/fail"
)

// environOf is a trusted environment holding m.
func environOf(m map[string]string) Environ {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	return ProcessEnviron(kv)
}

func cfgWith(env map[string]string) *Config {
	return &Config{Env: environOf(env), Cloud: Clouds["public"],
		LookPath: func(string) (string, error) { return "", errors.New("not found") }}
}

func TestEnvSource(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		wantKind   string // "" ok, "unavailable", "failed"
		wantReason string
	}{
		{"nothing", nil, "unavailable", "neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set"},
		{"secret", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, "", ""},
		{"no tenant", map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, "failed", "AZURE_TENANT_ID not set"},
		{"username", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_USERNAME": "u", "AZURE_PASSWORD": "p"}, "failed", "deprecated"},
		{"missing cert", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": "/nonexistent/c.pem"}, "failed", "cannot read certificate \"/nonexistent/c.pem\": no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cand, err := envSource{}.Load(cfgWith(tc.env))
			switch tc.wantKind {
			case "":
				if err != nil {
					t.Fatal(err)
				}
				if cand.Identity.SP == nil || cand.Identity.SP.ClientSecret.Reveal() != "s" {
					t.Errorf("identity = %+v", cand.Identity)
				}
			case "unavailable":
				if !IsUnavailable(err) || err.Error() != tc.wantReason {
					t.Errorf("err = %v", err)
				}
			case "failed":
				if err == nil || IsUnavailable(err) || !strings.Contains(err.Error(), tc.wantReason) || fail.HintOf(err) == "" {
					t.Errorf("err = %v, hint %q", err, fail.HintOf(err))
				}
			}
		})
	}
}

func TestAuthFileSource(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "auth.json")
	if err := os.WriteFile(p, []byte(sampleAuthFile), 0o600); err != nil {
		t.Fatal(err)
	}
	cand, err := authFileSource{}.Load(cfgWith(map[string]string{"AZURE_AUTH_LOCATION": p}))
	if err != nil {
		t.Fatal(err)
	}
	id := cand.Identity
	if id.Cloud.Name != "china" || id.Subscription != "22222222-2222-2222-2222-222222222222" || id.SP.ClientSecret.Reveal() != "very-secret-value" {
		t.Errorf("identity = %+v cloud = %+v", id, id.Cloud)
	}
	// An explicit --cloud wins over the file's endpoints.
	cfg := cfgWith(map[string]string{"AZURE_AUTH_LOCATION": p})
	cfg.CloudExplicit = true
	cand, _ = authFileSource{}.Load(cfg)
	if cand.Identity.Cloud.Name != "public" {
		t.Errorf("explicit cloud lost: %+v", cand.Identity.Cloud)
	}
	if _, err := (authFileSource{}).Load(cfgWith(nil)); !IsUnavailable(err) {
		t.Errorf("no file configured: %v", err)
	}
	_, err = authFileSource{}.Load(cfgWith(map[string]string{"AZURE_AUTH_LOCATION": filepath.Join(dir, "nope.json")}))
	if err == nil || IsUnavailable(err) || !strings.Contains(err.Error(), "AZURE_AUTH_LOCATION") {
		t.Errorf("missing file: %v", err)
	}
}

func TestWorkloadSource(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("assertion"), 0o600)
	if _, err := (workloadSource{}).Load(cfgWith(nil)); !IsUnavailable(err) {
		t.Errorf("unset: %v", err)
	}
	cand, err := workloadSource{}.Load(cfgWith(map[string]string{"AZURE_FEDERATED_TOKEN_FILE": tok, "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"}))
	if err != nil || cand.Identity.ClientID != "c" || cand.Identity.SP != nil {
		t.Errorf("configured: %v %+v", err, cand)
	}
	_, err = workloadSource{}.Load(cfgWith(map[string]string{"AZURE_FEDERATED_TOKEN_FILE": tok}))
	if err == nil || IsUnavailable(err) {
		t.Errorf("missing ids: %v", err)
	}
}

func TestManagedHost(t *testing.T) {
	cases := map[string]map[string]string{
		"IMDS":           nil,
		"App Service":    {"IDENTITY_ENDPOINT": "http://x", "IDENTITY_HEADER": "h"},
		"Service Fabric": {"IDENTITY_ENDPOINT": "http://x", "IDENTITY_HEADER": "h", "IDENTITY_SERVER_THUMBPRINT": "t"},
		"Cloud Shell":    {"MSI_ENDPOINT": "http://x"},
		"Azure ML":       {"MSI_ENDPOINT": "http://x", "MSI_SECRET": "s"},
		"Azure Arc":      {"IDENTITY_ENDPOINT": "http://x", "IMDS_ENDPOINT": "http://y"},
	}
	for want, env := range cases {
		if got := managedHost(func(k string) string { return env[k] }); got != want {
			t.Errorf("%v: got %q, want %q", env, got, want)
		}
	}
}

func TestCLISourcesNeedTheirTool(t *testing.T) {
	for _, s := range []Source{cliSource{}, azdSource{}} {
		_, err := s.Load(cfgWith(nil))
		if !IsUnavailable(err) || !strings.HasSuffix(err.Error(), "not found on PATH") {
			t.Errorf("%s: %v", s.Name(), err)
		}
	}
	cfg := cfgWith(nil)
	cfg.LookPath = func(string) (string, error) { return "/usr/bin/az", nil }
	if c, err := (cliSource{}).Load(cfg); err != nil || !c.Continue {
		t.Errorf("cli with az: %v", err)
	}
}

func TestSelect(t *testing.T) {
	names := func(ss []Source) string {
		var n []string
		for _, s := range ss {
			if _, ok := s.(excludedSource); ok {
				continue // listed as skipped, never loaded
			}
			n = append(n, s.Name())
		}
		return strings.Join(n, ",")
	}
	cases := []struct {
		identity, atc string
		atcSet        bool
		want          string
		wantErr       bool
	}{
		{"auto", "", false, "env,auth-file,workload,github,pipelines,managed,cli,azd", false},
		{"", "dev", true, "cli,azd", false},
		{"auto", "prod", true, "env,auth-file,workload,github,pipelines,managed", false},
		{"auto", "AzureCLICredential", true, "cli", false},
		{"auto", "managedidentitycredential", true, "managed", false},
		{"auto", "", true, "", true},
		{"auto", "bogus", true, "", true},
		{"auto", "DEV", true, "", true},
		{"auto", "AzurePowerShellCredential", true, "", true},
		{"cli", "prod", true, "cli", false},
		{"nope", "", false, "", true},
		{"profile", "", false, "", true},
	}
	for _, tc := range cases {
		got, err := Select(tc.identity, tc.atc, tc.atcSet)
		if (err != nil) != tc.wantErr || names(got) != tc.want {
			t.Errorf("Select(%q, %q, %v) = %q, %v", tc.identity, tc.atc, tc.atcSet, names(got), err)
		}
		if err != nil && fail.KindOf(err) != fail.Usage {
			t.Errorf("Select error kind = %v", fail.KindOf(err))
		}
	}
}

func TestCloud(t *testing.T) {
	if _, err := LookupCloud("mars"); err == nil || fail.KindOf(err) != fail.Usage {
		t.Errorf("unknown cloud: %v", err)
	}
	c, _ := LookupCloud("USGov")
	if c.ARMScope() != "https://management.usgovcloudapi.net/.default" || !c.Known() {
		t.Errorf("usgov = %+v", c)
	}
	if _, err := c.WithAuthorityHost("http://login.example"); err == nil {
		t.Error("plain http authority accepted")
	}
	c2, err := c.WithAuthorityHost("https://127.0.0.1:8443")
	if err != nil || c2.AuthorityHost != "https://127.0.0.1:8443/" || c2.Known() {
		t.Errorf("custom authority: %+v %v", c2, err)
	}
}

func TestExplain(t *testing.T) {
	cases := []struct{ source, msg, reason, hintHas string }{
		{"env", "ClientSecretCredential: authentication failed:\nPOST https://login/x\n--------\nRESPONSE 401\n{\"error_description\":\"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent...\\r\\nTrace ID: 1\"}", "AADSTS7000215: Invalid client secret provided.", "secret"},
		{"env", "AADSTS90002: Tenant 'x' not found. Check to make sure", "AADSTS90002: Tenant 'x' not found.", "tenant"},
		{"azd", "AzureDeveloperCLICredential: please run azd auth login", "not logged in to the Azure Developer CLI", "azd auth login"},
		{"managed", "line one\nline two", "line one", ""},
	}
	for _, tc := range cases {
		reason, hint := explain(tc.source, errors.New(tc.msg))
		if reason != tc.reason || !strings.Contains(hint, tc.hintHas) {
			t.Errorf("explain(%q) = %q, %q", tc.msg, reason, hint)
		}
	}
}
