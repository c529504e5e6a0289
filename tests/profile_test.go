package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
)

// Profiles and the persistent token cache, end to end (issue 6): a service
// principal added from stdin to the encrypted file keyring (and to the
// kernel keyring where the machine allows it), used by whoami, the wrapper,
// a Key Vault reference and `azexec token`; the second token served from
// the cache with no request; the secret in no file under HOME and in no
// output; and every bad input with its error, hint and exit status.

// testPassphrase is the file keyring's passphrase in these tests only.
const testPassphrase = "e2e test-only passphrase"

// profileEnv is f.env with the file keyring's passphrase.
func (f *fake) profileEnv(extra ...string) []string {
	return f.env(append([]string{"AZEXEC_KEYRING_PASSWORD=" + testPassphrase}, extra...)...)
}

// profileSP registers a service principal in the fake's home tenant, the
// one its vaults' challenges name.
func (f *fake) profileSP() sp {
	p := sp{tenant: f.Tenant(), client: newUUID(), secret: "e2eP~" + randomHex(20)}
	f.AddServicePrincipal(p.tenant, p.client, p.secret)
	return p
}

// addProfile runs `azexec profile add NAME ...` with the secret on stdin
// and requires success. The profile names a subscription: whoami then has
// no need to look one up in Resource Manager, which is not faked here.
func (f *fake) addProfile(t *testing.T, env []string, name string, p sp, extra ...string) string {
	t.Helper()
	// --no-verify: the stories count their own token requests; profile
	// add's proof is tested in profileverify_test.go.
	args := append([]string{"profile", "add", name, "--no-verify", "--tenant", p.tenant, "--client-id", p.client, "--subscription", newUUID()}, extra...)
	stdout, stderr, code := runAzexec(t, env, p.secret+"\n", args...)
	if code != 0 {
		t.Fatalf("profile add: status %d\n%s", code, stderr)
	}
	return stdout + stderr
}

// sha is what `sha256sum` prints for s, without the file name.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// shaOf is a child that prints the sha256 of a variable's value: proof it
// received the value, without the value reaching any output.
func shaOf(name string) []string {
	return []string{"sh", "-c", `printf %s "$` + name + `" | sha256sum | cut -d' ' -f1`}
}

// filesHolding lists the files under dir that contain any of values.
func filesHolding(t *testing.T, dir string, values ...string) (holding []string, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if strings.Contains(string(data), v) {
				holding = append(holding, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return holding, files
}

// TestProfileEndToEnd is the "done when", in one story.
func TestProfileEndToEnd(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.profileSP()
	env := f.profileEnv()
	var printed strings.Builder // everything azexec printed, but a token on purpose
	keep := func(stdout, stderr string) { printed.WriteString(stdout + stderr) }

	// 1. Add from stdin, to the encrypted file keyring.
	printed.WriteString(f.addProfile(t, env, "dev", p, "--keyring-backend", "file"))

	// 2. whoami names the profile, the only source tried, and the keyring.
	w := whoami(t, env, "--profile", "dev", "--log-level", "trace")
	if w.Source != "profile" || w.ClientID != p.client || w.TenantID != p.tenant || w.ObjectID != p.objectID() {
		t.Errorf("whoami = %+v", w)
	}
	if attemptsString(w.Attempts) != "profile:ok" || !strings.Contains(w.Attempts[0].Reason, "file keyring") {
		t.Errorf("attempts = %+v", w.Attempts)
	}
	stdout, stderr, code := runAzexec(t, env, "", "--profile", "dev", "whoami")
	keep(stdout, stderr)
	if code != 0 || requireLine(t, stdout, "keyring:") != "keyring:       file" || !strings.Contains(stdout, "the only source tried") {
		t.Errorf("whoami text: status %d\n%s", code, stdout)
	}

	// 3. The wrapper gives COMMAND the service principal's variables.
	stdout, stderr, code = runAzexec(t, env, "", wrap([]string{"--profile", "dev", "--log-level", "trace"}, shaOf("AZURE_CLIENT_SECRET")...)...)
	keep(stdout, stderr)
	if code != 0 || strings.TrimSpace(stdout) != sha(p.secret) {
		t.Errorf("child's AZURE_CLIENT_SECRET: status %d, sha %q, want %q", code, stdout, sha(p.secret))
	}

	// 4. A Key Vault reference, resolved with the profile's identity.
	host := f.vaultHost(t, "kv-profile")
	value := "kv-value-" + randomHex(12)
	f.setSecret(t, "kv-profile", "db-password", "", value)
	envFile := f.writeFile(t, "app.env", "DB_PASSWORD=keyvault://"+host+"/db-password\n")
	stdout, stderr, code = runAzexec(t, env, "", wrap([]string{"--profile", "dev", "--env-file", envFile, "--keyvault-emulator", host}, shaOf("DB_PASSWORD")...)...)
	keep(stdout, stderr)
	if code != 0 || strings.TrimSpace(stdout) != sha(value) {
		t.Errorf("child's DB_PASSWORD: status %d, sha %q, want %q\n%s", code, stdout, sha(value), stderr)
	}

	// 5. `azexec token`, twice: the second is served from the keyring
	// cache, with no request at all (not even discovery).
	const storage = "https://storage.azure.com/.default"
	f.Reset()
	first, stderr, code := runAzexec(t, env, "", "--profile", "dev", "token", "--scope", storage)
	keep("", stderr)
	if code != 0 || f.CountRequests(fakeazure.KindToken) != 1 {
		t.Fatalf("first token: status %d, %d token requests, want 1\n%s", code, f.CountRequests(fakeazure.KindToken), stderr)
	}
	before := f.CountRequests("")
	second, stderr, code := runAzexec(t, env, "", "--profile", "dev", "--log-level", "debug", "token", "--scope", storage)
	keep("", stderr)
	if code != 0 || second != first {
		t.Errorf("second token: status %d, same token %v", code, second == first)
	}
	if n := f.CountRequests(fakeazure.KindToken); n != 1 || f.CountRequests("") != before {
		t.Errorf("second token: token requests %d (want 1 in all), requests %d → %d", n, before, f.CountRequests(""))
	}
	if !strings.Contains(stderr, "access token served from the keyring cache") {
		t.Errorf("the debug log does not say the cache served the token:\n%s", stderr)
	}
	// --no-cache asks Entra ID again.
	_, stderr, code = runAzexec(t, env, "", "--profile", "dev", "--no-cache", "token", "--scope", storage)
	keep("", stderr)
	if code != 0 || f.CountRequests(fakeazure.KindToken) < 2 {
		t.Errorf("--no-cache: status %d, %d token requests in all, want a new one", code, f.CountRequests(fakeazure.KindToken))
	}

	// 6. list and cache list: names only.
	stdout, stderr, code = runAzexec(t, env, "", "profile", "list")
	keep(stdout, stderr)
	if line := requireLine(t, stdout, "dev "); code != 0 || !strings.Contains(line, p.client) || !strings.HasSuffix(line, " file") {
		t.Errorf("profile list: status %d\n%s", code, stdout)
	}
	stdout, stderr, code = runAzexec(t, f.env(), "", "cache", "list") // no passphrase needed
	keep(stdout, stderr)
	if code != 0 || !strings.Contains(stdout, storage+"  (profile dev)") || !strings.Contains(stdout, "token:") {
		t.Errorf("cache list: status %d\n%s%s", code, stdout, stderr)
	}

	// 7. Nothing under HOME holds the secret, the vault's value or a token
	// in the clear, though the config and the keyring are there.
	secrets := append([]string{p.secret, value, testPassphrase}, f.IssuedTokens()...)
	holding, files := filesHolding(t, f.home, secrets...)
	if files < 3 {
		t.Errorf("only %d files under HOME: expected the config, the secret and cached tokens", files)
	}
	for _, h := range holding {
		t.Errorf("%s holds a secret or a token in the clear", h)
	}
	checkNoSecrets(t, f, printed.String(), []string{p.secret, value, testPassphrase})

	// 8. remove deletes both halves and the cached tokens.
	stdout, stderr, code = runAzexec(t, f.env(), "", "profile", "remove", "dev")
	if code != 0 || !strings.Contains(stdout, `profile "dev" removed`) {
		t.Fatalf("remove: status %d\n%s%s", code, stdout, stderr)
	}
	entries, _ := os.ReadDir(filepath.Join(f.home, ".config", "azexec", "keyring"))
	for _, e := range entries {
		t.Errorf("keyring entry left after remove: %s", e.Name())
	}
	config, _ := os.ReadFile(filepath.Join(f.home, ".config", "azexec", "config.json"))
	if strings.Contains(string(config), p.client) {
		t.Errorf("config still names the profile:\n%s", config)
	}
	_, stderr, code = runAzexec(t, env, "", "--profile", "dev", "whoami")
	if code != 2 || !strings.Contains(stderr, `azexec: error: unknown profile "dev"`) {
		t.Errorf("after remove: status %d\n%s", code, stderr)
	}
}

// TestProfileCertificate: a certificate profile, its PKCS#12 password read
// from stdin; the profile's default env file and inject mode apply.
func TestProfileCertificate(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p, cc := f.newCertSP(t)
	env := f.profileEnv()
	vars := f.writeFile(t, "defaults.env", "FROM_DEFAULT_FILE=yes\n")
	args := []string{"profile", "add", "cert", "--tenant", p.tenant, "--client-id", p.client, "--keyring-backend", "file", "--subscription", newUUID(),
		"--certificate", cc.PFXFile, "--default-env-file", vars, "--default-inject", "env"}
	if _, stderr, code := runAzexec(t, env, "not-the-password\n", args...); code != 2 || !strings.Contains(stderr, "cannot open certificate") {
		t.Errorf("wrong certificate password: status %d\n%s", code, stderr)
	}
	if _, stderr, code := runAzexec(t, env, cc.Password+"\n", args...); code != 0 {
		t.Fatalf("add: status %d\n%s", code, stderr)
	}
	w := whoami(t, env, "--profile", "cert")
	if w.Source != "profile" || w.ClientID != p.client || !strings.Contains(w.Kind, "certificate password") {
		t.Errorf("whoami = %+v", w)
	}
	stdout, stderr, code := runAzexec(t, env, "", wrap([]string{"--profile", "cert"}, "sh", "-c",
		`echo "$FROM_DEFAULT_FILE $AZURE_CLIENT_CERTIFICATE_PATH"; printf %s "$AZURE_CLIENT_CERTIFICATE_PASSWORD" | sha256sum | cut -d' ' -f1`)...)
	if want := "yes " + cc.PFXFile + "\n" + sha(cc.Password) + "\n"; code != 0 || stdout != want {
		t.Errorf("child printed %q, want %q\n%s", stdout, want, stderr)
	}
	if holding, _ := filesHolding(t, f.home, cc.Password); len(holding) > 0 {
		t.Errorf("files holding the certificate password: %v", holding)
	}
}

// runDetached runs azexec in a session of its own, with no controlling
// terminal, as a kubectl plugin or a CI job does: a locked keyring must
// fail at once instead of prompting on the developer's terminal.
func runDetached(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, azexecBin, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running azexec %q: %v", args, err)
	}
	t.Logf("azexec %q: status %d\n%s%s", args, cmd.ProcessState.ExitCode(), out.String(), errOut.String())
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestProfileBadInput: every bad input of the issue gives its error, its
// hint and the exit status of the table, and prints no secret.
func TestProfileBadInput(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.profileSP()
	env := f.profileEnv()
	f.addProfile(t, env, "dev", p, "--keyring-backend", "file")
	noPass := unsetEnv(env, "AZEXEC_KEYRING_PASSWORD")
	keyringDir := filepath.Join(f.home, ".config", "azexec", "keyring")

	type check struct {
		name  string
		run   func() (string, string, int)
		code  int
		error string // the error line's text after "azexec: error: "
		hint  string // a part of the hint
	}
	azexec := func(env []string, stdin string, args ...string) func() (string, string, int) {
		return func() (string, string, int) { return runAzexec(t, env, stdin, args...) }
	}
	checks := []check{
		{"unknown profile", azexec(env, "", "--profile", "nope", "whoami"), 2,
			`unknown profile "nope"`, "profiles: dev"},
		{"unknown profile in AZEXEC_PROFILE", azexec(setEnv(env, "AZEXEC_PROFILE=nope"), "", "--", "true"), 2,
			`unknown profile "nope"`, "azexec profile list"},
		{"profile and another identity", azexec(env, "", "--profile", "dev", "--identity", "cli", "whoami"), 2,
			`--profile "dev" and --identity "cli" both choose an identity`, "drop one"},
		{"locked keyring", func() (string, string, int) { return runDetached(t, noPass, "--profile", "dev", "whoami") }, 3,
			"profile: the encrypted file keyring", "set AZEXEC_KEYRING_PASSWORD"},
		{"wrong passphrase", azexec(setEnv(env, "AZEXEC_KEYRING_PASSWORD=wrong"), "", "--profile", "dev", "token", "arm"), 3,
			`profile: cannot decrypt "profile:dev"`, "the passphrase the keyring was created with"},
		{"unavailable keyring", azexec(env, p.secret+"\n", "profile", "add", "other", "--tenant", p.tenant, "--client-id", p.client, "--keyring-backend", "secret-service"), 3,
			`keyring backend "secret-service" is not available here`, "--keyring-backend file"},
		// (Without AZEXEC_KEYRING_BACKEND: the subcommand's own flag reads
		// it and would win over the global flag.)
		{"unknown keyring backend", azexec(unsetEnv(env, "AZEXEC_KEYRING_BACKEND"), "", "--keyring-backend", "gnome", "profile", "list"), 2,
			`unknown keyring backend "gnome"`, "use one of"},
		{"secret on argv is not an option", azexec(env, "", "profile", "add", "x", "--tenant", p.tenant, "--client-id", p.client, "--secret", p.secret), 2,
			"flag provided but not defined: ", "--help"},
		{"empty secret", azexec(env, "\n", "profile", "add", "x", "--tenant", p.tenant, "--client-id", p.client), 2,
			"no client secret of profile x given", "pipe it on stdin"},
		{"duplicate", azexec(env, p.secret+"\n", "profile", "add", "dev", "--tenant", p.tenant, "--client-id", p.client), 2,
			`profile "dev" already exists`, "azexec profile rotate dev"},
	}
	for _, c := range checks {
		stdout, stderr, code := c.run()
		if code != c.code {
			t.Errorf("%s: status %d, want %d", c.name, code, c.code)
		}
		if !strings.Contains(stderr, "azexec: error: "+c.error) {
			t.Errorf("%s: no error %q in:\n%s", c.name, c.error, stderr)
		}
		if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, c.hint) {
			t.Errorf("%s: hint %q does not contain %q", c.name, hint, c.hint)
		}
		checkNoSecrets(t, f, stdout+stderr, []string{p.secret, testPassphrase})
	}

	// The secret removed from the keyring by hand: exit 3, and the hint
	// says how to put it back; rotate does, and the profile works again.
	if err := os.Remove(filepath.Join(keyringDir, "profile:dev")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runAzexec(t, env, "", "--profile", "dev", "whoami")
	if code != 3 || !strings.Contains(stderr, `azexec: error: profile: profile "dev" has no client secret in the file keyring`) ||
		!strings.Contains(stderr, "azexec: hint: its entry \"profile:dev\" was removed outside azexec: store it again with azexec profile rotate dev") {
		t.Errorf("secret removed by hand: status %d\n%s", code, stderr)
	}
	stdout, _, _ := runAzexec(t, env, "", "profile", "show", "dev")
	if !strings.Contains(stdout, "MISSING") {
		t.Errorf("show does not say the secret is missing:\n%s", stdout)
	}
	if _, stderr, code := runAzexec(t, env, p.secret+"\n", "profile", "rotate", "dev"); code != 0 {
		t.Fatalf("rotate: status %d\n%s", code, stderr)
	}
	if w := whoami(t, env, "--profile", "dev"); w.ClientID != p.client {
		t.Errorf("after rotate: %+v", w)
	}

	// A config that cannot be read stores nothing: neither half.
	other := startFake(t)
	if err := os.MkdirAll(filepath.Join(other.home, ".config", "azexec", "config.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runAzexec(t, other.profileEnv(), p.secret+"\n", "profile", "add", "dev", "--no-verify", "--tenant", p.tenant, "--client-id", p.client, "--keyring-backend", "file")
	if code != 2 || !strings.Contains(stderr, "azexec: error: cannot read") {
		t.Errorf("unreadable config: status %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(other.home, ".config", "azexec", "keyring")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the keyring was written although the config was not: %v", err)
	}
}

// TestProfileRotateInvalidatesCache: after rotate, the next run proves the
// new secret with a request instead of serving the token the old one got.
func TestProfileRotateInvalidatesCache(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.profileSP()
	env := f.profileEnv()
	f.addProfile(t, env, "dev", p, "--keyring-backend", "file")
	whoami(t, env, "--profile", "dev")
	whoami(t, env, "--profile", "dev")
	if n := f.CountRequests(fakeazure.KindToken); n != 1 {
		t.Fatalf("two whoami runs made %d token requests, want 1", n)
	}
	p2 := p
	p2.secret = "e2eP~wrong-" + randomHex(12) // never registered: Entra ID refuses it
	if _, stderr, code := runAzexec(t, env, p2.secret+"\n", "profile", "rotate", "dev"); code != 0 {
		t.Fatalf("rotate: %s", stderr)
	}
	_, stderr, code := runAzexec(t, env, "", "--profile", "dev", "whoami")
	if code != 3 || !strings.Contains(stderr, "AADSTS7000215") || !strings.Contains(stderr, "hint: the client secret of profile \"dev\" is wrong") ||
		!strings.Contains(stderr, "azexec profile rotate dev") {
		t.Errorf("a wrong new secret was not proven, or the hint does not lead to profile rotate: status %d\n%s", code, stderr)
	}
}

// TestProfileKernelKeyring runs the story on the Linux kernel keyring,
// where the machine allows it (it is skipped elsewhere). The kernel keyring
// is the user's, shared with every test run on the machine: names are
// random and everything is removed at the end.
func TestProfileKernelKeyring(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.profileSP()
	env := unsetEnv(f.env(), "AZEXEC_KEYRING_PASSWORD", "AZEXEC_KEYRING_BACKEND")
	name := "e2e-" + randomHex(6)
	stdout, stderr, code := runAzexec(t, env, p.secret+"\n", "profile", "add", name, "--tenant", p.tenant, "--client-id", p.client, "--subscription", newUUID(), "--keyring-backend", "keyctl")
	if code == 3 && strings.Contains(stderr, "not available") {
		t.Skipf("no kernel keyring here: %s", stderr)
	}
	if code != 0 {
		t.Fatalf("add: status %d\n%s%s", code, stdout, stderr)
	}
	t.Cleanup(func() { runAzexec(t, env, "", "profile", "remove", name) })
	if w := whoami(t, env, "--profile", name); w.Source != "profile" || w.ClientID != p.client {
		t.Errorf("whoami = %+v", w)
	}
	f.Reset()
	first, _, _ := runAzexec(t, env, "", "--profile", name, "token", "keyvault")
	second, _, code := runAzexec(t, env, "", "--profile", name, "token", "keyvault")
	if code != 0 || first != second || f.CountRequests(fakeazure.KindToken) != 1 {
		t.Errorf("token twice: status %d, same %v, %d token requests (want 1)", code, first == second, f.CountRequests(fakeazure.KindToken))
	}
	stdout, _, _ = runAzexec(t, env, "", "--profile", name, "cache", "list")
	if !strings.Contains(stdout, "keyctl") || !strings.Contains(stdout, "(profile "+name+")") {
		t.Errorf("cache list:\n%s", stdout)
	}
	stdout, _, code = runAzexec(t, env, "", "--profile", name, "cache", "clear")
	if code != 0 || !strings.HasPrefix(stdout, "2 cached token(s) deleted from the keyctl keyring") {
		t.Errorf("cache clear: status %d\n%s", code, stdout)
	}
	if holding, _ := filesHolding(t, f.home, p.secret); len(holding) > 0 {
		t.Errorf("files holding the secret: %v", holding)
	}
	if _, stderr, code := runAzexec(t, env, "", "profile", "remove", name); code != 0 {
		t.Errorf("remove: status %d\n%s", code, stderr)
	}
	_, stderr, code = runAzexec(t, env, "", "--profile", name, "whoami")
	if code != 2 {
		t.Errorf("after remove: status %d\n%s", code, stderr)
	}
}

// TestNoCacheWithoutKeyring: with neither a profile nor a keyring backend,
// nothing is cached and nothing is written under HOME (the environment's
// service principal pays a token request per run, as before).
func TestNoCacheWithoutKeyring(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	env := f.env(append(p.env(), "AZURE_SUBSCRIPTION_ID="+newUUID())...)
	whoami(t, env)
	whoami(t, env)
	if n := f.CountRequests(fakeazure.KindToken); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	if entries, _ := os.ReadDir(f.home); len(entries) > 0 {
		t.Errorf("HOME not empty: %v", entries)
	}
	// With a keyring backend named, the environment's service principal
	// is cached too, and a run with another secret is proven afresh.
	kenv := setEnv(env, "AZEXEC_KEYRING_BACKEND=file", "AZEXEC_KEYRING_PASSWORD="+testPassphrase)
	f.Reset()
	whoami(t, kenv)
	whoami(t, kenv)
	if n := f.CountRequests(fakeazure.KindToken); n != 1 {
		t.Errorf("with a keyring: %d token requests, want 1", n)
	}
	_, stderr, code := runAzexec(t, setEnv(kenv, "AZURE_CLIENT_SECRET=e2eP~wrong-"+randomHex(8)), "", "whoami")
	if code != 3 || !strings.Contains(stderr, "AADSTS7000215") {
		t.Errorf("another secret was served the cached token: status %d\n%s", code, stderr)
	}
	var w whoamiJSON
	stdout, _, _ := runAzexec(t, kenv, "", "--no-cache", "whoami", "--json")
	if err := json.Unmarshal([]byte(stdout), &w); err != nil || w.ClientID != p.client {
		t.Errorf("--no-cache whoami: %v", err)
	}
	if n := f.CountRequests(fakeazure.KindToken); n != 3 {
		t.Errorf("after a wrong secret and --no-cache: %d token requests, want 3", n)
	}
}
