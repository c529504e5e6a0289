package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
)

// The token cache of every identity source, end to end, in its default
// keyring (the kernel keyring on Linux): the az login proven with the
// vault scope once cold and not at all warm, and never a token of an
// earlier login after az logout, az login as someone else or az account
// set into another tenant. The kernel keyring is the user's, shared with
// every test on the machine: each test's identity is its own (a random
// tenant, client or config directory), so entries never collide, and the
// kernel drops them when their tokens expire.

// azAccount is one az login as azureProfile.json records it, with the
// tokens a fake az answers for it, by resource.
type azAccount struct {
	user, userType, tenant, client string
	tokens                         map[string]string
}

// newAzAccount mints tokens for a new user login in tenant, for Resource
// Manager and Key Vault.
func (f *fake) newAzAccount(tenant string) azAccount {
	a := azAccount{user: "dev-" + randomHex(4) + "@contoso.example", userType: "user", tenant: tenant, client: newUUID(), tokens: map[string]string{}}
	for _, r := range []string{"https://management.azure.com/", fakeazure.VaultAudience} {
		a.tokens[r] = f.MintToken(tenant, a.client, r, time.Hour)
	}
	return a
}

// azCLI is a fake az whose login a test can change as az login, az logout
// and az account set would: its azureProfile.json and its answers.
type azCLI struct {
	f     *fake
	dir   string // AZURE_CONFIG_DIR
	calls string // one line per run
}

func (f *fake) newAzCLI(t *testing.T) *azCLI {
	t.Helper()
	az := &azCLI{f: f, dir: filepath.Join(f.home, ".azure"), calls: f.path("az.calls")}
	if err := os.MkdirAll(az.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return az
}

// login makes a the logged-in account: azureProfile.json (with the byte
// order mark az writes) names it as the default subscription's account,
// and az answers its tokens.
func (az *azCLI) login(t *testing.T, a azAccount) {
	t.Helper()
	profile, err := json.Marshal(map[string]any{
		"installationId": "00000000-0000-4000-8000-000000000001",
		"subscriptions": []map[string]any{{
			"id": newUUID(), "name": "Dev", "state": "Enabled", "isDefault": true,
			"tenantId": a.tenant, "homeTenantId": a.tenant, "environmentName": "AzureCloud",
			"user": map[string]string{"name": a.user, "type": a.userType}, "managedByTenants": []any{},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	az.write(t, append([]byte("\xef\xbb\xbf"), profile...))
	var cases strings.Builder
	for r, tok := range a.tokens {
		r = strings.TrimSuffix(r, "/") // az gets the resource without its slash
		out, _ := json.Marshal(map[string]any{
			"accessToken": tok, "expiresOn": time.Now().Add(time.Hour).Format("2006-01-02 15:04:05.000000"),
			"expires_on": time.Now().Add(time.Hour).Unix(), "tenant": a.tenant, "tokenType": "Bearer",
		})
		fmt.Fprintf(&cases, "\"account get-access-token -o json --resource %s\"*) echo '%s' ;;\n", r, out)
	}
	az.f.writeProgram(t, "az", fmt.Sprintf("echo \"$*\" >> '%s'\ncase \"$*\" in\n%s*) echo \"fake az: unexpected arguments: $*\" >&2; exit 2 ;;\nesac\n", az.calls, cases.String()))
}

// logout is az logout: no account left, and az asks for a login.
func (az *azCLI) logout(t *testing.T) {
	t.Helper()
	az.write(t, []byte("\xef\xbb\xbf{\"installationId\": \"00000000-0000-4000-8000-000000000001\", \"subscriptions\": []}"))
	az.f.writeProgram(t, "az", fmt.Sprintf("echo \"$*\" >> '%s'\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n", az.calls))
}

func (az *azCLI) write(t *testing.T, profile []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(az.dir, "azureProfile.json"), profile, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runs is how many times az has run so far.
func (az *azCLI) runs() int {
	b, err := os.ReadFile(az.calls)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

// defaultCacheEnv is f's environment with the platform's default cache
// keyring (f.env names the file keyring, which isolates other tests).
func defaultCacheEnv(f *fake, extra ...string) []string {
	return unsetEnv(f.env(extra...), "AZEXEC_KEYRING_BACKEND", "AZEXEC_KEYRING_PASSWORD")
}

// skipWithoutKernelKeyring skips when the run's debug log says the cache
// keyring could not be opened (a container whose seccomp profile forbids
// keyctl).
func skipWithoutKernelKeyring(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "token cache off: the keyring cannot be opened") {
		t.Skipf("no kernel keyring here:\n%s", stderr)
	}
}

// TestCacheCLIOneReference: `azexec --identity cli` with one Key Vault
// reference runs az exactly once cold (the vault token proves the
// identity: no Resource Manager token) and not at all warm; the child gets
// the secret both times. --no-cache runs az again.
func TestCacheCLIOneReference(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	host := f.vaultHost(t, "kv-cache")
	value := "cached-run-" + randomHex(8)
	f.setSecret(t, "kv-cache", "db", "", value)
	az := f.newAzCLI(t)
	az.login(t, f.newAzAccount(f.Tenant()))
	env := defaultCacheEnv(f, consent(host), "DB=keyvault://"+host+"/db")
	out := f.path("child")
	child := []string{"sh", "-c", "printf %s \"$DB\" > '" + out + "'"}
	run := func(what string, flags ...string) {
		t.Helper()
		_ = os.Remove(out)
		_, stderr, code := runAzexec(t, env, "", append(append([]string{"--identity", "cli", "--log-level", "debug"}, flags...), append([]string{"--"}, child...)...)...)
		skipWithoutKernelKeyring(t, stderr)
		got, _ := os.ReadFile(out)
		if code != 0 || string(got) != value {
			t.Fatalf("%s: status %d, the child got the value: %v\n%s", what, code, string(got) == value, stderr)
		}
	}
	run("cold")
	if n := az.runs(); n != 1 {
		t.Errorf("cold: az ran %d times, want 1:\n%s", n, readFile(t, az.calls))
	}
	if !strings.Contains(readFile(t, az.calls), "--resource "+fakeazure.VaultAudience) {
		t.Errorf("the identity was not proven with the vault's scope:\n%s", readFile(t, az.calls))
	}
	run("warm")
	if n := az.runs(); n != 1 {
		t.Errorf("warm: az ran %d more times, want 0", n-1)
	}
	run("--no-cache", "--no-cache")
	if n := az.runs(); n != 2 {
		t.Errorf("--no-cache: az ran %d times in all, want 2", n)
	}
	if holding, _ := filesHolding(t, f.home, az.f.IssuedTokens()...); len(holding) > 0 {
		t.Errorf("files under HOME hold a token: %v", holding)
	}
}

// TestCacheCLILoginChanges: a cached az token is served only to the login
// that obtained it. After az account set into another tenant, az login as
// another user, and az logout, the next run asks az again and never
// prints the old token.
func TestCacheCLILoginChanges(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	az := f.newAzCLI(t)
	env := defaultCacheEnv(f)
	token := func() (string, string, int) {
		t.Helper()
		stdout, stderr, code := runAzexec(t, env, "", "--identity", "cli", "--log-level", "debug", "token", "arm")
		skipWithoutKernelKeyring(t, stderr)
		return strings.TrimSpace(stdout), stderr, code
	}
	first := f.newAzAccount(newUUID())
	az.login(t, first)
	arm := "https://management.azure.com/"
	for i := range 2 {
		if got, stderr, code := token(); code != 0 || got != first.tokens[arm] {
			t.Fatalf("run %d: status %d, the login's token: %v\n%s", i+1, code, got == first.tokens[arm], stderr)
		}
	}
	if n := az.runs(); n != 1 {
		t.Fatalf("az ran %d times for two runs, want 1 (the second from the cache)", n)
	}

	steps := []struct {
		name    string
		account azAccount
	}{
		// az account set into another tenant: the same user, another tenant.
		{"az account set into another tenant", func() azAccount {
			a := f.newAzAccount(newUUID())
			a.user = first.user
			return a
		}()},
		// az login as someone else, in the first tenant.
		{"az login as another user", f.newAzAccount(first.tenant)},
		// a service principal login of the same tenant.
		{"az login --service-principal", func() azAccount {
			a := f.newAzAccount(first.tenant)
			a.user, a.userType = a.client, "servicePrincipal"
			return a
		}()},
	}
	seen := []string{first.tokens[arm]}
	for _, st := range steps {
		before := az.runs()
		az.login(t, st.account)
		got, stderr, code := token()
		if code != 0 || got != st.account.tokens[arm] {
			t.Errorf("after %s: status %d, got the new login's token: %v, an earlier one: %v\n%s",
				st.name, code, got == st.account.tokens[arm], contains(seen, got), stderr)
		}
		if az.runs() != before+1 {
			t.Errorf("after %s: az ran %d times, want 1", st.name, az.runs()-before)
		}
		seen = append(seen, st.account.tokens[arm])
	}

	// Back to the first login: its token is still cached and valid.
	before := az.runs()
	az.login(t, first)
	if got, _, code := token(); code != 0 || got != first.tokens[arm] || az.runs() != before {
		t.Errorf("back to the first login: status %d, its token %v, az ran %d times (want 0)", code, got == first.tokens[arm], az.runs()-before)
	}

	az.logout(t)
	stdout, stderr, code := token()
	if code != 3 || stdout != "" {
		t.Errorf("after az logout: status %d, stdout %d bytes (want 3 and nothing)\n%s", code, len(stdout), stderr)
	}
	for _, tok := range seen {
		if strings.Contains(stdout+stderr, tok) {
			t.Errorf("after az logout, a token of an earlier login was printed")
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("reading %s: %v", path, err)
	}
	return string(b)
}

// TestCacheEnvServicePrincipal: the environment's service principal is
// cached in the default keyring with nothing written under HOME; a run
// with another secret is proven afresh, and a wrong one fails.
func TestCacheEnvServicePrincipal(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	env := defaultCacheEnv(f, append(p.env(), "AZURE_SUBSCRIPTION_ID="+newUUID())...)
	for i := range 2 {
		_, stderr, code := runAzexec(t, env, "", "--log-level", "debug", "--", "true")
		skipWithoutKernelKeyring(t, stderr)
		if code != 0 {
			t.Fatalf("run %d: status %d\n%s", i+1, code, stderr)
		}
	}
	if n := f.CountRequests(fakeazure.KindToken); n != 1 {
		t.Errorf("%d token requests for two runs, want 1", n)
	}
	if entries, _ := os.ReadDir(f.home); len(entries) > 0 {
		t.Errorf("HOME not empty: %v", entries)
	}
	_, stderr, code := runAzexec(t, setEnv(env, "AZURE_CLIENT_SECRET=e2eP~wrong-"+randomHex(8)), "", "--", "true")
	if code != 3 || !strings.Contains(stderr, "AADSTS7000215") {
		t.Errorf("another secret was served the cached token: status %d\n%s", code, stderr)
	}
}

// TestNoDBusAtStart: azexec reaches no D-Bus session bus unless a D-Bus
// keyring backend is used. The keyring library azexec forked connected in
// its init, before main, in every run.
func TestNoDBusAtStart(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	sock := f.path("bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	p := f.newSP()
	env := defaultCacheEnv(f, append(p.env(), "AZURE_SUBSCRIPTION_ID="+newUUID(), "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock)...)
	for _, args := range [][]string{{"--version"}, {"--", "true"}, {"--keyring-backend", "keyctl", "--", "true"}} {
		if _, stderr, code := runAzexec(t, env, "", args...); code != 0 {
			t.Errorf("%q: status %d\n%s", args, code, stderr)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("azexec connected to the D-Bus session bus %d times", n)
	}
}
