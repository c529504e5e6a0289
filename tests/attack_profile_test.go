package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Attacks on the profile store (security issue, item 5): concurrent
// `azexec profile add` runs that lost profiles and paired one app's
// config with another's secret, a damaged keyring entry reported as a
// wrong passphrase, and a profile's default env file stored relative, to
// be read from whatever directory azexec later runs in. Each test performs
// the attack and fails if it works.

// runIn runs the binary in dir, as runAzexec does, but returns instead of
// failing the test, so that many can run at once from goroutines.
func runIn(dir string, env []string, stdin string, args ...string) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, azexecBin, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		return out.String(), errOut.String(), -1, fmt.Errorf("azexec %q did not finish within %s", args, runTimeout)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return "", "", -1, err
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode(), nil
}

// addRun is the outcome of one `azexec profile add` of a parallel batch.
type addRun struct {
	p              sp
	stdout, stderr string
	code           int
	err            error
}

// addInParallel runs one `profile add NAME` per service principal, all at
// once, names[i] for sps[i], on the file keyring.
func (f *fake) addInParallel(t *testing.T, env []string, names []string, sps []sp) []addRun {
	t.Helper()
	runs := make([]addRun, len(sps))
	var start, done sync.WaitGroup
	start.Add(1)
	for i, p := range sps {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait() // all at once
			stdout, stderr, code, err := runIn(f.dir, env, p.secret+"\n", "profile", "add", names[i],
				"--tenant", p.tenant, "--client-id", p.client, "--subscription", newUUID(), "--keyring-backend", "file")
			runs[i] = addRun{p: p, stdout: stdout, stderr: stderr, code: code, err: err}
		}()
	}
	start.Done()
	done.Wait()
	for _, r := range runs {
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Logf("profile add (client %s): status %d\n%s%s", r.p.client, r.code, r.stdout, r.stderr)
	}
	return runs
}

// configProfiles reads the profiles of config.json as stored.
func (f *fake) configProfiles(t *testing.T) map[string]struct {
	ClientID string   `json:"clientId"`
	EnvFiles []string `json:"envFiles"`
} {
	t.Helper()
	var c struct {
		Profiles map[string]struct {
			ClientID string   `json:"clientId"`
			EnvFiles []string `json:"envFiles"`
		} `json:"profiles"`
	}
	data, err := os.ReadFile(filepath.Join(f.home, ".config", "azexec", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("config.json: %v\n%s", err, data)
	}
	return c.Profiles
}

// keyringEntries lists the file keyring's entry files.
func (f *fake) keyringEntries(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.home, ".config", "azexec", "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestAttackParallelProfileAdds: sixteen `profile add` runs at once, each
// of its own name. Before the store was locked, two or three of eight
// survived in config.json and the others' secrets were orphaned in the
// keyring. Every one must be in the config, in the keyring, and work.
func TestAttackParallelProfileAdds(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.profileEnv()
	const n = 16
	var names []string
	var sps []sp
	for i := range n {
		names = append(names, fmt.Sprintf("p%02d", i))
		sps = append(sps, f.profileSP())
	}
	for _, r := range f.addInParallel(t, env, names, sps) {
		if r.code != 0 {
			t.Errorf("add of client %s: status %d\n%s", r.p.client, r.code, r.stderr)
		}
	}
	config := f.configProfiles(t)
	entries := f.keyringEntries(t)
	for i, name := range names {
		if config[name].ClientID != sps[i].client {
			t.Errorf("profile %s: config names client %q, want %q", name, config[name].ClientID, sps[i].client)
		}
		if !slices.Contains(entries, "profile:"+name) {
			t.Errorf("profile %s: no keyring entry", name)
		}
	}
	if len(config) != n || len(entries) != n {
		t.Errorf("%d profiles in the config and %d keyring entries, want %d of each: %q", len(config), len(entries), n, entries)
	}
	// Each secret is whole and its own: Entra ID (the fake) accepts it for
	// that client.
	for i, name := range names {
		if w := whoami(t, env, "--profile", name); w.ClientID != sps[i].client {
			t.Errorf("profile %s authenticated as %s, want %s", name, w.ClientID, sps[i].client)
		}
	}
}

// TestAttackParallelAddsOfOneName: eight `profile add dev` runs at once,
// each for another service principal. Before, the config could name app A
// while the keyring held app B's secret. Exactly one add must win, the
// others be refused, and the profile must authenticate as the app its
// config names, with that app's secret.
func TestAttackParallelAddsOfOneName(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.profileEnv()
	const n = 8
	var sps []sp
	for range n {
		sps = append(sps, f.profileSP())
	}
	names := slices.Repeat([]string{"dev"}, n)
	var winner *sp
	for _, r := range f.addInParallel(t, env, names, sps) {
		switch {
		case r.code == 0 && winner == nil:
			winner = &r.p
		case r.code == 0:
			t.Errorf("a second add of dev succeeded (client %s after %s)", r.p.client, winner.client)
		case r.code != 2 || !strings.Contains(r.stderr, `azexec: error: profile "dev" already exists`):
			t.Errorf("refused add: status %d, want 2 and \"already exists\"\n%s", r.code, r.stderr)
		}
	}
	if winner == nil {
		t.Fatal("no add succeeded")
	}
	if got := f.configProfiles(t)["dev"].ClientID; got != winner.client {
		t.Errorf("config names client %s, the add that succeeded was for %s", got, winner.client)
	}
	if entries := f.keyringEntries(t); !slices.Equal(entries, []string{"profile:dev"}) {
		t.Errorf("keyring entries %q, want only profile:dev", entries)
	}
	// The fake knows which secret belongs to which client: whoami proves
	// the stored secret is the configured client's own.
	if w := whoami(t, env, "--profile", "dev"); w.ClientID != winner.client {
		t.Errorf("profile dev authenticated as %s, want %s", w.ClientID, winner.client)
	}
}

// TestAttackTruncatedKeyringEntry: a keyring entry cut short (a crash
// while the old in-place write ran, a full disk) was reported as a wrong
// passphrase, sending the user to hunt for another one. It must be
// reported as corrupt, exit 3, with the way to repair it; a wrong
// passphrase must still be reported as one.
func TestAttackTruncatedKeyringEntry(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.profileEnv()
	dev, other := f.profileSP(), f.profileSP()
	f.addProfile(t, env, "dev", dev, "--keyring-backend", "file")
	entry := filepath.Join(f.home, ".config", "azexec", "keyring", "profile:dev")
	check := func(what string) {
		t.Helper()
		_, stderr, code := runAzexec(t, env, "", "--profile", "dev", "whoami")
		if code != 3 || !strings.Contains(stderr, `azexec: error: profile: the entry "profile:dev" in the file keyring`) ||
			!strings.Contains(stderr, "is corrupt") || strings.Contains(stderr, "wrong passphrase") {
			t.Errorf("%s: status %d, want 3 and a corrupt entry, not a wrong passphrase\n%s", what, code, stderr)
		}
		if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, "azexec profile rotate dev") ||
			!strings.Contains(hint, "azexec profile remove dev") {
			t.Errorf("%s: hint %q", what, hint)
		}
		checkNoSecrets(t, f, stderr, []string{dev.secret, testPassphrase})
	}

	// The only entry, cut to half: the damage shows in the token itself.
	data, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entry, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	check("truncated to half")
	if err := os.WriteFile(entry, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	check("truncated to nothing")

	// Rotate repairs it, and the profile works again.
	if _, stderr, code := runAzexec(t, env, dev.secret+"\n", "profile", "rotate", "dev"); code != 0 {
		t.Fatalf("rotate: status %d\n%s", code, stderr)
	}
	if w := whoami(t, env, "--profile", "dev"); w.ClientID != dev.client {
		t.Errorf("after rotate: %+v", w)
	}

	// Damage to the wrapped key, with another entry the passphrase opens.
	f.addProfile(t, env, "other", other, "--keyring-backend", "file")
	data, _ = os.ReadFile(entry)
	parts := strings.Split(string(data), ".")
	b := []byte(parts[1])
	if b[len(b)/2] == 'A' { // stays base64url, so only the key is wrong
		b[len(b)/2] = 'B'
	} else {
		b[len(b)/2] = 'A'
	}
	parts[1] = string(b)
	if err := os.WriteFile(entry, []byte(strings.Join(parts, ".")), 0o600); err != nil {
		t.Fatal(err)
	}
	check("wrapped key damaged")

	// A wrong passphrase is still reported as one.
	_, stderr, code := runAzexec(t, setEnv(env, "AZEXEC_KEYRING_PASSWORD=wrong"), "", "--profile", "other", "whoami")
	if code != 3 || !strings.Contains(stderr, `cannot decrypt "profile:other"`) || !strings.Contains(stderr, "wrong passphrase") {
		t.Errorf("wrong passphrase: status %d\n%s", code, stderr)
	}
}

// TestAttackRelativeEnvFile: `profile add --default-env-file app.env`
// stores the absolute path, so the profile reads that file wherever it is
// used. A config from before, naming a relative path, is refused with exit
// 2 instead of reading the file of that name in the current directory: an
// untrusted clone (git runs azexec as its credential helper there) could
// otherwise set the variables.
func TestAttackRelativeEnvFile(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.profileEnv()
	p := f.profileSP()
	project := filepath.Join(f.dir, "project")
	clone := filepath.Join(f.dir, "untrusted-clone")
	for _, d := range []string{project, clone} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(project, "app.env"), []byte("FROM_FILE=project\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "app.env"), []byte("FROM_FILE=attacker\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code, err := runIn(project, env, p.secret+"\n", "profile", "add", "dev", "--tenant", p.tenant, "--client-id", p.client,
		"--subscription", newUUID(), "--keyring-backend", "file", "--default-env-file", "app.env")
	if err != nil || code != 0 {
		t.Fatalf("add: status %d %v\n%s", code, err, stderr)
	}
	want := filepath.Join(project, "app.env")
	if got := f.configProfiles(t)["dev"].EnvFiles; !slices.Equal(got, []string{want}) {
		t.Errorf("stored env files %q, want %q", got, want)
	}
	// Used from the clone, the profile reads the project's file.
	stdout, stderr, code, err := runIn(clone, env, "", wrap([]string{"--profile", "dev"}, "sh", "-c", `echo "$FROM_FILE"`)...)
	if err != nil || code != 0 || stdout != "project\n" {
		t.Errorf("from the clone: status %d %v, child printed %q, want the project's file\n%s", code, err, stdout, stderr)
	}

	// An older azexec's config, with the path as typed.
	configPath := filepath.Join(f.home, ".config", "azexec", "config.json")
	data, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	quoted, _ := json.Marshal(want)
	data = bytes.Replace(data, quoted, []byte(`"app.env"`), 1)
	if err := os.WriteFile(configPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	m := newMarker(t)
	stdout, stderr, code, err = runIn(clone, env, "", wrap([]string{"--profile", "dev"}, m.command()...)...)
	if err != nil || code != 2 || !strings.Contains(stderr, `azexec: error: profile "dev" names its default env file "app.env" by a relative path`) {
		t.Errorf("relative env file: status %d %v, want 2\n%s%s", code, err, stdout, stderr)
	}
	if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, "azexec profile remove dev") {
		t.Errorf("hint %q", hint)
	}
	if m.exists() {
		t.Error("COMMAND ran with the clone's env file")
	}
	// git-credential refuses it too, before reading anything.
	_, stderr, code, _ = runIn(clone, env, "protocol=https\nhost=dev.azure.com\n\n", "--profile", "dev", "git-credential", "get")
	if code != 2 || !strings.Contains(stderr, "by a relative path") {
		t.Errorf("git-credential with a relative env file: status %d\n%s", code, stderr)
	}
}
