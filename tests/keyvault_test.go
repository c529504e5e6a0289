package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
)

// Key Vault references, end to end: the three syntaxes in the process
// environment and in env files, the child receiving each secret byte for
// byte, `azexec env`, whoami --json, and the failures (syntax, missing,
// forbidden, disabled, unresolvable, throttled), each of which must keep
// COMMAND from starting and show no value.

// vaultHost adds a vault to the fake and returns its host:port, which the
// three syntaxes accept as a loopback (emulator) vault.
func (f *fake) vaultHost(t *testing.T, name string) string {
	t.Helper()
	u, err := f.AddVault(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u, "https://")
}

// consent is the variable by which the user names the fake's vaults as
// Key Vault emulators: without it, a reference to a vault on loopback is
// refused (see attack_keyvault_test.go).
func consent(hosts ...string) string {
	return "AZEXEC_KEYVAULT_EMULATOR=" + strings.Join(hosts, ",")
}

// setSecret stores a secret version in the fake's vault.
func (f *fake) setSecret(t *testing.T, vault, name, version, value string) {
	t.Helper()
	if err := f.SetSecret(vault, name, version, value); err != nil {
		t.Fatal(err)
	}
}

// kvEnv is the environment of a run as service principal p, plus extra.
// It names a subscription, so that azexec does not look one up at
// Resource Manager, which the fake does not stand in for.
func kvEnv(f *fake, p sp, extra ...string) []string {
	return f.env(append(append(p.env(), "AZURE_SUBSCRIPTION_ID=00000000-0000-4000-8000-000000000000"), extra...)...)
}

// dumpEnv is a child that writes its whole environment, NUL-separated, to
// file: the test reads every value byte for byte, and nothing secret
// reaches the child's stdout.
func dumpEnv(file string) []string {
	return []string{"sh", "-c", "env -0 > '" + file + "'"}
}

// readDump reads what dumpEnv wrote.
func readDump(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the child did not run: %v", err)
	}
	m := map[string]string{}
	for _, e := range strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00") {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

// wantVars fails for every name whose value in got is not want's.
func wantVars(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok || g != want[k] {
			t.Errorf("%s: %s = %q (set: %v), want %q", what, k, g, ok, want[k])
		}
	}
}

// kvScenario is a fake with two vaults full of awkward values, an env file
// that uses every syntax, and a reference in the process environment.
type kvScenario struct {
	f      *fake
	sp     sp
	env    []string // process environment
	file   string   // the .env
	want   map[string]string
	values []string // every secret value, for the leak search
	hosts  [2]string
}

const (
	pemValue = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
	oldVer   = "00000000000000000000000000000001"
	newVer   = "00000000000000000000000000000002"
)

func newKVScenario(t *testing.T) *kvScenario {
	t.Helper()
	f := startFake(t)
	sc := &kvScenario{f: f, sp: f.homeSP()}
	sc.hosts = [2]string{f.vaultHost(t, "kv-one"), f.vaultHost(t, "kv-two")}
	secret := func(vault, name, version, value string) string {
		f.setSecret(t, vault, name, version, value)
		sc.values = append(sc.values, value)
		return value
	}
	unicode := secret("kv-one", "unicode", "", "pässwörd ✓ 密码 "+randomHex(4))
	trailing := secret("kv-one", "trailing", "", "ends-with-newlines-"+randomHex(4)+"\n\n")
	quotes := secret("kv-one", "quotes", "", `it's "quoted" $HOME \n `+randomHex(4))
	secret("kv-one", "pem", "", pemValue)
	old := secret("kv-two", "rotated", oldVer, "old-rotated-"+randomHex(8))
	secret("kv-two", "rotated", newVer, "new-rotated-"+randomHex(8))
	db := secret("kv-two", "db-password", "", "db-"+randomHex(12))

	sc.file = f.writeFile(t, "app.env", fmt.Sprintf(`# every syntax
FROM_URI=@Microsoft.KeyVault(SecretUri=https://%[1]s/secrets/pem)
FROM_NAME="@Microsoft.KeyVault(VaultName=%[1]s; SecretName=unicode)"
FROM_SHORT=keyvault://%[1]s/trailing
QUOTES=@Microsoft.KeyVault( secreturi = https://%[1]s/secrets/quotes/ )
PINNED=keyvault://%[2]s/rotated/%[3]s
SAME_AGAIN=keyvault://%[1]s/PEM
PLAIN=keyvault-lookalike but not a reference
OVERRIDDEN=plain value from the file
`, sc.hosts[0], sc.hosts[1], oldVer))
	sc.env = kvEnv(f, sc.sp, consent(sc.hosts[:]...),
		"FROM_PROCESS=@Microsoft.KeyVault(SecretUri=https://"+sc.hosts[1]+"/secrets/db-password)",
		// The file wins over the process environment: this reference to
		// a secret that does not exist is never fetched.
		"OVERRIDDEN=keyvault://"+sc.hosts[1]+"/no-such-secret",
	)
	sc.want = map[string]string{
		"FROM_URI": pemValue, "FROM_NAME": unicode, "FROM_SHORT": trailing, "QUOTES": quotes,
		"PINNED": old, "SAME_AGAIN": pemValue, "FROM_PROCESS": db,
		"PLAIN": "keyvault-lookalike but not a reference", "OVERRIDDEN": "plain value from the file",
	}
	return sc
}

// TestKeyVaultReferences: a .env using all three syntaxes (and a reference
// in the process environment) gives the child the right values, byte for
// byte, in both process models, at one token request per tenant and scope;
// `azexec env --format json` prints the same values; nothing azexec
// prints, at trace level, holds a value or a token.
func TestKeyVaultReferences(t *testing.T) {
	t.Parallel()
	sc := newKVScenario(t)
	f := sc.f
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "env")
			args := append([]string{"--env-file", sc.file, "--log-level", "trace"}, wrap(mode.flags, dumpEnv(out)...)...)
			stdout, stderr, code := runAzexec(t, sc.env, "", args...)
			if code != 0 {
				t.Fatalf("status %d\n%s", code, stderr)
			}
			wantVars(t, "child", readDump(t, out), sc.want)
			checkNoSecrets(t, f, stdout+stderr, sc.values)
			for _, v := range []string{"FROM_URI", "FROM_NAME", "FROM_SHORT", "PINNED", "FROM_PROCESS"} {
				if !strings.Contains(stderr, "key vault reference resolved: variable="+v) {
					t.Errorf("the debug log does not list %s", v)
				}
			}
		})
	}
	t.Run("one token per tenant and scope", func(t *testing.T) {
		f.Reset()
		out := filepath.Join(t.TempDir(), "env")
		if _, stderr, code := runAzexec(t, sc.env, "", append([]string{"--env-file", sc.file}, wrap(nil, dumpEnv(out)...)...)...); code != 0 {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		// One: the Key Vault token proves the identity too (no Resource
		// Manager token that nothing uses).
		if n := f.CountRequests(fakeazure.KindToken); n != 1 {
			t.Errorf("%d token requests, want 1", n)
		}
		// 6 distinct secrets; each vault's first requests meet the challenge.
		gets := 0
		for _, r := range f.Requests() {
			if r.Kind == fakeazure.KindKV && r.Status == http.StatusOK {
				gets++
			}
		}
		if gets != 6 {
			t.Errorf("%d secrets read, want 6 (identical references are fetched once)", gets)
		}
	})
	t.Run("env --format json", func(t *testing.T) {
		stdout, stderr, code := runAzexec(t, sc.env, "", "--env-file", sc.file, "env", "--format", "json")
		if code != 0 {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		wantVars(t, "env --format json", got, sc.want)
		if _, ok := got["PATH"]; ok {
			t.Error("without --all, env printed PATH, which azexec neither sets nor resolves")
		}
		checkNoSecrets(t, f, stderr, sc.values)
	})
}

// TestEnvCommandFormats proves each format of `azexec env` gives its
// reader the exact values: shell through eval, dotenv through azexec's own
// --env-file, JSON through a decoder; and that --all adds the process
// environment.
func TestEnvCommandFormats(t *testing.T) {
	t.Parallel()
	sc := newKVScenario(t)
	args := []string{"--env-file", sc.file, "env"}
	t.Run("shell", func(t *testing.T) {
		stdout, stderr, code := runAzexec(t, sc.env, "", append(args, "--format", "shell")...)
		if code != 0 {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		out := filepath.Join(t.TempDir(), "env")
		cmd := exec.Command("sh", "-c", stdout+"\nenv -0 > '"+out+"'")
		cmd.Env = []string{"PATH=" + toolsDir}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("eval: %v\n%s", err, b)
		}
		wantVars(t, "eval", readDump(t, out), sc.want)
	})
	t.Run("dotenv", func(t *testing.T) {
		stdout, stderr, code := runAzexec(t, sc.env, "", append(args, "--format", "dotenv")...)
		if code != 0 {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		file := sc.f.writeFile(t, "resolved.env", stdout)
		out := filepath.Join(t.TempDir(), "env")
		if _, stderr, code := runAzexec(t, kvEnv(sc.f, sc.sp), "", append([]string{"--env-file", file}, wrap(nil, dumpEnv(out)...)...)...); code != 0 {
			t.Fatalf("reading the dotenv output back: status %d\n%s", code, stderr)
		}
		wantVars(t, "dotenv read back", readDump(t, out), sc.want)
	})
	t.Run("all", func(t *testing.T) {
		stdout, stderr, code := runAzexec(t, sc.env, "", append(args, "--format", "json", "--all")...)
		if code != 0 {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		want := maps.Clone(sc.want)
		want["PATH"] = envMap(sc.env)["PATH"]
		want["AZURE_CLIENT_ID"] = sc.sp.client
		wantVars(t, "env --all", got, want)
	})
	t.Run("unknown format", func(t *testing.T) {
		_, stderr, code := runAzexec(t, sc.env, "", append(args, "--format", "yaml")...)
		if code != 2 || !strings.Contains(stderr, `azexec: error: unknown format "yaml"`) {
			t.Errorf("status %d\n%s", code, stderr)
		}
	})
}

// TestWhoamiListsReferences: whoami resolves the references as the
// wrapper would and lists each (variable, vault, secret, version id),
// never a value.
func TestWhoamiListsReferences(t *testing.T) {
	t.Parallel()
	sc := newKVScenario(t)
	stdout, stderr, code := runAzexec(t, sc.env, "", "--env-file", sc.file, "whoami", "--json")
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	var w struct {
		References []struct {
			Variable, Origin, Vault, VaultURL, Secret, Version string
		} `json:"references"`
	}
	if err := json.Unmarshal([]byte(stdout), &w); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range w.References {
		got[r.Variable] = r.Origin + " " + r.Vault + "/" + r.Secret + "/" + r.Version
	}
	want := map[string]string{
		"PINNED":       sc.file + ":6 " + sc.hosts[1] + "/rotated/" + oldVer,
		"FROM_PROCESS": "process environment " + sc.hosts[1] + "/db-password/",
		"FROM_URI":     sc.file + ":2 " + sc.hosts[0] + "/pem/",
	}
	for k, v := range want {
		if !strings.HasPrefix(got[k], v) || strings.HasSuffix(got[k], "/") {
			t.Errorf("%s: %q, want %q and a version id", k, got[k], v)
		}
	}
	if len(w.References) != 7 {
		t.Errorf("%d references listed, want 7", len(w.References))
	}
	text, stderr, code := runAzexec(t, sc.env, "", "--env-file", sc.file, "whoami")
	// In the order of their origins: the process environment, then the file.
	if code != 0 || !strings.Contains(text, "key vault references:\n  FROM_PROCESS ") ||
		!strings.Contains(text, "\n  FROM_URI             "+sc.hosts[0]+"/pem/") {
		t.Errorf("text whoami: status %d\n%s\n%s", code, text, stderr)
	}
	checkNoSecrets(t, sc.f, stdout+text+stderr, sc.values)
}

// failureCase is a reference that must not resolve.
type failureCase struct {
	name    string
	file    string // the env file's content
	extra   []string
	code    int
	want    []string // in stderr
	noFetch bool     // no request may reach a vault
}

// TestKeyVaultFailures: a missing secret, a forbidden vault, a disabled
// secret, a vault name that does not resolve, and bad references each give
// their exit status and a message naming the variable, with a hint;
// COMMAND never starts, and no value appears in any output.
func TestKeyVaultFailures(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	ok, denied := f.vaultHost(t, "kv-ok"), f.vaultHost(t, "kv-denied")
	values := []string{"good-" + randomHex(12), "off-" + randomHex(12), "denied-" + randomHex(12)}
	f.setSecret(t, "kv-ok", "good", "", values[0])
	f.setSecret(t, "kv-ok", "off", "", values[1])
	if err := f.DisableSecret("kv-ok", "off", ""); err != nil {
		t.Fatal(err)
	}
	f.setSecret(t, "kv-denied", "db", "", values[2])
	if err := f.DenyAccess("kv-denied", p.objectID()); err != nil {
		t.Fatal(err)
	}
	goodLine := "GOOD=keyvault://" + ok + "/good\n"

	cases := []failureCase{
		{name: "missing secret", file: goodLine + "DB_PASSWORD=keyvault://" + ok + "/missing\n", code: 4, want: []string{
			`azexec: error: key vault reference not resolved: DB_PASSWORD (FILE:2): vault "` + ok + `", secret "missing", latest version: 404 SecretNotFound: no such secret or version`,
			`azexec: hint: vault "` + ok + `" has no secret "missing"`}},
		{name: "forbidden vault", file: goodLine + "API_KEY=@Microsoft.KeyVault(VaultName=" + denied + ";SecretName=db)\n", code: 4, want: []string{
			`API_KEY (FILE:2): vault "` + denied + `", secret "db", latest version: 403 ForbiddenByRbac: access denied`,
			`azexec: hint: the identity (object id ` + p.objectID() + `) lacks the Key Vault Secrets User role or an access policy on vault "` + denied + `"`}},
		{name: "disabled secret", file: goodLine + "OFF=@Microsoft.KeyVault(SecretUri=https://" + ok + "/secrets/off)\n", code: 4, want: []string{
			`OFF (FILE:2): vault "` + ok + `", secret "off", latest version: 403 SecretDisabled: the secret is disabled`,
			`azexec: hint: enable it, or name an enabled version`}},
		{name: "vault name does not resolve", file: goodLine + "DNS=keyvault://no-such-vault-e2e/db\n", code: 4, want: []string{
			`DNS (FILE:2): vault "no-such-vault-e2e", secret "db", latest version: no response: cannot resolve host "no-such-vault-e2e.vault.azure.net"`,
			`azexec: hint: check the vault name "no-such-vault-e2e" (in the public cloud its host is no-such-vault-e2e.vault.azure.net)`},
			// The pure Go resolver asks only the name servers of
			// resolv.conf, which the offline namespace cannot reach.
			extra: []string{"GODEBUG=netdns=go"}},
		{name: "several failures", file: goodLine + "A=keyvault://" + ok + "/missing\nB=keyvault://" + denied + "/db\n", code: 4, want: []string{
			"azexec: error: key vault references not resolved (2 of 3):\n",
			"\n  A (FILE:2): vault", "404 SecretNotFound", "\n    hint: vault ",
			"\n  B (FILE:3): vault", "403 ForbiddenByRbac", "\n    hint: the identity (object id ",
			"azexec: hint: nothing was started: every reference must resolve"}},
		{name: "bad reference", file: goodLine + "BAD=keyvault://" + ok + "/db_password\n", code: 2, noFetch: true, want: []string{
			`azexec: error: invalid key vault reference in BAD (FILE:2): invalid secret name "db_password": 1-127 letters, digits and hyphens`,
			"azexec: hint: write @Microsoft.KeyVault(SecretUri="}},
		{name: "bad references reported together", file: goodLine +
			"X=@Microsoft.KeyVault(VaultName=kv;SecretName=db)\nY=@Microsoft.KeyVault(Vault=kv-ok;SecretName=db)\nZ=keyvault://" + ok + "/db/latest\n",
			code: 2, noFetch: true, want: []string{
				"azexec: error: invalid key vault references:\n",
				"\n  X (FILE:2): invalid vault name \"kv\"",
				"\n  Y (FILE:3): unknown key \"Vault\" in @Microsoft.KeyVault(...)",
				"\n  Z (FILE:4): invalid secret version \"latest\": a version is 32 hexadecimal digits"}},
		{name: "bad reference in the process environment", extra: []string{"FROM_SHELL=keyvault://" + ok}, code: 2, noFetch: true, want: []string{
			"azexec: error: invalid key vault reference in FROM_SHELL (process environment): a short reference looks like keyvault://VAULT/NAME[/VERSION]"}},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			file := f.writeFile(t, strings.ReplaceAll(tc.name, " ", "-")+".env", tc.file)
			env := kvEnv(f, p, append([]string{consent(ok, denied)}, tc.extra...)...)
			for _, command := range [][]string{nil, {"env"}, {"whoami", "--json"}} {
				m := newMarker(t)
				args := []string{"--env-file", file, "--log-level", "debug"}
				if command == nil {
					args = append(args, wrap(nil, m.command()...)...)
				} else {
					args = append(args, command...)
				}
				before := kvRequests(f)
				stdout, stderr, code := runAzexec(t, env, "", args...)
				if code != tc.code {
					t.Errorf("%q: status %d, want %d", command, code, tc.code)
				}
				for _, w := range tc.want {
					if w = strings.ReplaceAll(w, "FILE", file); !strings.Contains(stderr, w) {
						t.Errorf("%q: stderr lacks %q", command, w)
					}
				}
				if m.exists() {
					t.Error("COMMAND started")
				}
				if stdout != "" {
					t.Errorf("%q printed on stdout: %q", command, stdout)
				}
				if tc.noFetch && kvRequests(f) != before {
					t.Errorf("%q: a vault was asked despite a syntax error", command)
				}
				checkNoSecrets(t, f, stdout+stderr, values)
			}
		})
	}
}

// kvRequests counts the requests that reached any vault so far.
func kvRequests(f *fake) int { return f.CountRequests(fakeazure.KindKV) }

// TestKeyVaultOptions covers --concurrency and --timeout (and their
// AZEXEC_* variables).
func TestKeyVaultOptions(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	host := f.vaultHost(t, "kv-slow")
	f.setSecret(t, "kv-slow", "db", "", "slow-"+randomHex(8))
	env := kvEnv(f, p, consent(host), "DB=keyvault://"+host+"/db")
	for _, bad := range [][]string{{"--concurrency", "0"}, {"--timeout", "-1s"}} {
		_, stderr, code := runAzexec(t, env, "", append(bad, wrap(nil, "true")...)...)
		if code != 2 || !strings.Contains(stderr, "azexec: error: "+bad[0]+" must be") {
			t.Errorf("%q: status %d\n%s", bad, code, stderr)
		}
	}
	// --timeout bounds the sign-in too: 4s leaves it time on a loaded
	// machine, and a Retry-After of 2s still ends the fetch after two tries.
	f.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Status: http.StatusTooManyRequests, RetryAfter: "2"})
	m := newMarker(t)
	_, stderr, code := runAzexec(t, setEnv(env, "AZEXEC_TIMEOUT=4s"), "", wrap(nil, m.command()...)...)
	if code != 4 || m.exists() || !strings.Contains(stderr, `DB (process environment): vault "`+host+`", secret "db", latest version: 429 Throttled: throttled 2 times, and the next try would come after --timeout 4s`) ||
		!strings.Contains(stderr, "azexec: hint: the vault is throttling: raise --timeout, lower --concurrency, or retry later") {
		t.Errorf("throttled past the timeout: status %d\n%s", code, stderr)
	}
}

// TestKeyVaultThrottled200: 200 references across two vaults, under
// throttling (each vault limited to 10 requests a second, answering 429
// with Retry-After beyond it, and 503s without Retry-After), all resolve
// within the default timeout, and no more than --concurrency (128 by
// default) requests are in flight at once. The limit is low enough that
// the first window (64 requests a vault) is throttled however slowly a
// loaded machine sends it; the limiter's own rules are unit-tested in
// internal/providers/aimd_test.go.
func TestKeyVaultThrottled200(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	hosts := []string{f.vaultHost(t, "kv-a"), f.vaultHost(t, "kv-b")}
	var file bytes.Buffer
	want := map[string]string{}
	for i := range 200 {
		vault, name := []string{"kv-a", "kv-b"}[i%2], fmt.Sprintf("secret-%03d", i)
		value := fmt.Sprintf("value-%03d-%s", i, randomHex(6))
		f.setSecret(t, vault, name, "", value)
		fmt.Fprintf(&file, "REF_%03d=keyvault://%s/%s\n", i, hosts[i%2], name)
		want[fmt.Sprintf("REF_%03d", i)] = value
	}
	for _, v := range []string{"kv-a", "kv-b"} {
		if err := f.LimitVault(v, 10); err != nil {
			t.Fatal(err)
		}
	}
	path := f.writeFile(t, "many.env", file.String())
	f.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Status: http.StatusServiceUnavailable, Times: 4})
	out := filepath.Join(t.TempDir(), "env")
	_, stderr, code := runAzexec(t, kvEnv(f, p, consent(hosts...)), "", append([]string{"--env-file", path}, wrap(nil, dumpEnv(out)...)...)...)
	if code != 0 {
		t.Fatalf("status %d\n%s", code, clip(stderr))
	}
	wantVars(t, "child", readDump(t, out), want)
	faults, throttled := 0, 0
	for _, r := range f.Requests() {
		if r.Fault {
			faults++
		}
		if r.Throttled {
			throttled++
		}
	}
	if faults != 4 || throttled == 0 {
		t.Errorf("%d 503 answers (want 4) and %d 429 answers (want some)", faults, throttled)
	}
	if peak := f.PeakConcurrency(fakeazure.KindKV); peak > 128 {
		t.Errorf("peak concurrency %d, above the default --concurrency 128", peak)
	}
}

// TestKeyVaultOtherTenant: a vault whose challenge names another tenant
// than the identity's needs AZURE_ADDITIONALLY_ALLOWED_TENANTS, as the
// SDKs do; with it (and the app registered there) the reference resolves.
func TestKeyVaultOtherTenant(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP() // a tenant of its own; the vault is in the fake's home tenant
	host := f.vaultHost(t, "kv-home")
	value := "cross-tenant-" + randomHex(8)
	f.setSecret(t, "kv-home", "db", "", value)
	env := kvEnv(f, p, consent(host), "DB=keyvault://"+host+"/db")
	m := newMarker(t)
	_, stderr, code := runAzexec(t, env, "", wrap(nil, m.command()...)...)
	if code != 4 || m.exists() || !strings.Contains(stderr, "the vault is in tenant "+f.Tenant()) ||
		!strings.Contains(stderr, "azexec: hint: if the identity may sign in to that tenant (a multi-tenant app), set AZURE_ADDITIONALLY_ALLOWED_TENANTS="+f.Tenant()) {
		t.Errorf("status %d\n%s", code, stderr)
	}
	f.AddServicePrincipal(f.Tenant(), p.client, p.secret) // the app, consented in the home tenant
	f.Reset()
	out := filepath.Join(t.TempDir(), "env")
	_, stderr, code = runAzexec(t, setEnv(env, "AZURE_ADDITIONALLY_ALLOWED_TENANTS="+f.Tenant()), "", wrap(nil, dumpEnv(out)...)...)
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	wantVars(t, "child", readDump(t, out), map[string]string{"DB": value})
	oneTokenPerPair(t, f)
	// The proof, the vault's token in the vault's tenant, and perhaps the
	// one azexec asked for in the identity's own tenant while the
	// challenge was on its way: never two for one tenant and scope.
	perPair := tokenRequests(f)
	if perPair[f.Tenant()+" https://vault.azure.net/.default"] != 1 {
		t.Errorf("token requests %v, want one for the vault's tenant", perPair)
	}
}

// tokenRequests counts the token requests to the fake by tenant and scope
// ("TENANT SCOPE"), and fails for any pair asked for twice.
func tokenRequests(f *fake) map[string]int {
	n := map[string]int{}
	for _, r := range f.Requests() {
		if r.Kind == fakeazure.KindToken {
			tenant, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
			scope, _, _ := strings.Cut(r.Scope, " ") // MSAL adds openid offline_access profile
			n[tenant+" "+scope]++
		}
	}
	return n
}

// oneTokenPerPair fails for any tenant and scope asked for more than once.
func oneTokenPerPair(t *testing.T, f *fake) {
	t.Helper()
	for pair, count := range tokenRequests(f) {
		if count > 1 {
			t.Errorf("%d token requests for %s, want at most one per tenant and scope", count, pair)
		}
	}
}
