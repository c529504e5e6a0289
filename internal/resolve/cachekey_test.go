package resolve

import (
	"os"
	"path/filepath"
	"testing"
)

// azProfileJSON is an azureProfile.json with one default subscription, as
// az writes it (byte order mark included).
func azProfileJSON(user, userType, tenant, env string) string {
	return "\xef\xbb\xbf" + `{"installationId": "i", "subscriptions": [
	 {"id": "s2", "isDefault": false, "tenantId": "other", "user": {"name": "x", "type": "user"}, "environmentName": "AzureCloud"},
	 {"id": "s1", "isDefault": true, "tenantId": "` + tenant + `", "homeTenantId": "` + tenant + `",
	  "environmentName": "` + env + `", "user": {"name": "` + user + `", "type": "` + userType + `"}}]}`
}

func cliIDFor(t *testing.T, dir, profile string) *CacheID {
	t.Helper()
	if profile != "" {
		if err := os.WriteFile(filepath.Join(dir, "azureProfile.json"), []byte(profile), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cliCacheID(&Config{Env: Environ{vars: map[string]string{"AZURE_CONFIG_DIR": dir}}})
}

// TestCLICacheID: every change az makes to who is logged in changes the
// name; the name of the same login is stable; no login, no name.
func TestCLICacheID(t *testing.T) {
	dir := t.TempDir()
	if id := cliIDFor(t, dir, ""); id != nil {
		t.Errorf("no azureProfile.json: %+v, want nil", id)
	}
	base := cliIDFor(t, dir, azProfileJSON("me@contoso.com", "user", "t1", "AzureCloud"))
	if base == nil || base.Tenant != "t1" {
		t.Fatalf("logged in: %+v", base)
	}
	if again := cliIDFor(t, dir, azProfileJSON("ME@contoso.com", "user", "T1", "AzureCloud")); again == nil || again.Identity != base.Identity {
		t.Errorf("the same login, other case: another name")
	}
	for name, p := range map[string]string{
		"another user":                         azProfileJSON("you@contoso.com", "user", "t1", "AzureCloud"),
		"another tenant":                       azProfileJSON("me@contoso.com", "user", "t2", "AzureCloud"),
		"another cloud":                        azProfileJSON("me@contoso.com", "user", "t1", "AzureChinaCloud"),
		"a service principal of the same name": azProfileJSON("me@contoso.com", "servicePrincipal", "t1", "AzureCloud"),
	} {
		id := cliIDFor(t, dir, p)
		if id == nil || id.Identity == base.Identity || id.Binding == base.Binding {
			t.Errorf("%s: same name as before", name)
		}
	}
	for name, p := range map[string]string{
		"logged out":         "\xef\xbb\xbf{\"subscriptions\": []}",
		"no default":         `{"subscriptions": [{"id": "s", "tenantId": "t1", "user": {"name": "me", "type": "user"}}]}`,
		"malformed":          `{"subscriptions": [`,
		"default, no user":   `{"subscriptions": [{"id": "s", "isDefault": true, "tenantId": "t1"}]}`,
		"default, no tenant": `{"subscriptions": [{"id": "s", "isDefault": true, "user": {"name": "me", "type": "user"}}]}`,
	} {
		if id := cliIDFor(t, dir, p); id != nil {
			t.Errorf("%s: %+v, want no name (not cached)", name, id)
		}
	}
	other := cliIDFor(t, t.TempDir(), azProfileJSON("me@contoso.com", "user", "t1", "AzureCloud"))
	if other == nil || other.Identity == base.Identity {
		t.Errorf("another AZURE_CONFIG_DIR: same name")
	}
}

// TestAzdCacheID: azd's config.json names the login; logging out (no
// account) or delegating to a logged-out az leaves nothing to cache.
func TestAzdCacheID(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{Env: Environ{vars: map[string]string{"AZD_CONFIG_DIR": dir, "AZURE_CONFIG_DIR": filepath.Join(dir, "az")}}}
	write := func(s string) *CacheID {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return azdCacheID(cfg)
	}
	if id := azdCacheID(cfg); id != nil {
		t.Errorf("no config.json: %+v", id)
	}
	a := write(`{"auth": {"account": {"currentUser": {"homeAccountId": "oid1.tid1"}}}}`)
	b := write(`{"auth": {"account": {"currentUser": {"homeAccountId": "oid2.tid1"}}}}`)
	if a == nil || b == nil || a.Identity == b.Identity {
		t.Errorf("two users: %+v %+v", a, b)
	}
	if id := write(`{"defaults": {"location": "westeurope"}}`); id != nil {
		t.Errorf("logged out: %+v", id)
	}
	if id := write(`{"auth": {"useAzCliAuth": "true"}}`); id != nil {
		t.Errorf("delegating to az, az logged out: %+v", id)
	}
}

// TestWorkloadAndManagedCacheID: a new token file content, another client
// id or another endpoint is another name.
func TestWorkloadAndManagedCacheID(t *testing.T) {
	cfg := &Config{Cloud: Clouds["public"], Env: Environ{vars: map[string]string{}}}
	a := workloadCacheID(cfg, "t", "c", "/f", []byte("jwt1"))
	for name, id := range map[string]*CacheID{
		"another file content": workloadCacheID(cfg, "t", "c", "/f", []byte("jwt2")),
		"another client":       workloadCacheID(cfg, "t", "c2", "/f", []byte("jwt1")),
		"another tenant":       workloadCacheID(cfg, "t2", "c", "/f", []byte("jwt1")),
	} {
		if id.Identity == a.Identity {
			t.Errorf("workload, %s: same name", name)
		}
	}
	m := managedCacheID(cfg, "IMDS", "")
	if m == nil {
		t.Fatal("managed: no name")
	}
	if u := managedCacheID(cfg, "IMDS", "c"); u.Identity == m.Identity {
		t.Errorf("user-assigned vs system-assigned: same name")
	}
	cfg.Env.vars["IDENTITY_ENDPOINT"], cfg.Env.vars["IDENTITY_HEADER"] = "http://127.0.0.1:1/msi", "h1"
	as := managedCacheID(cfg, "App Service", "")
	cfg.Env.vars["IDENTITY_HEADER"] = "h2"
	if as.Identity == managedCacheID(cfg, "App Service", "").Identity {
		t.Errorf("another identity header: same name")
	}
}

// FuzzCLICacheID: any azureProfile.json gives a name or none, never a
// panic.
func FuzzCLICacheID(f *testing.F) {
	f.Add([]byte(azProfileJSON("me", "user", "t", "AzureCloud")))
	f.Add([]byte(`{"subscriptions": [{"isDefault": true}]}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "azureProfile.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = cliCacheID(&Config{Env: Environ{vars: map[string]string{"AZURE_CONFIG_DIR": dir}}})
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = azdCacheID(&Config{Env: Environ{vars: map[string]string{"AZD_CONFIG_DIR": dir, "AZURE_CONFIG_DIR": dir}}})
	})
}
