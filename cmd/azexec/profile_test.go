package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLIIn is runCLI with stdin.
func runCLIIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"azexec"}, args...), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// withHome gives the test a HOME of its own and the encrypted file keyring
// with a test-only passphrase.
func withHome(t *testing.T) string {
	t.Helper()
	isolate(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"XDG_CONFIG_HOME", "AZEXEC_PROFILE", "AZEXEC_NO_CACHE", "AZEXEC_INJECT", "AZEXEC_SUBSCRIPTION"} {
		t.Setenv(k, "")
		unsetForTest(t, k)
	}
	t.Setenv("AZEXEC_KEYRING_BACKEND", "file")
	t.Setenv("AZEXEC_KEYRING_PASSWORD", "test-only-passphrase")
	return home
}

func TestProfileNameLast(t *testing.T) {
	cases := map[string]string{
		"azexec profile add dev --tenant T --client-id C":                "azexec profile add --tenant T --client-id C dev",
		"azexec --cloud china profile show dev --json":                   "azexec --cloud china profile show --json dev",
		"azexec --log-level debug profile --no-cache remove dev":         "azexec --log-level debug profile --no-cache remove dev",
		"azexec profile add --tenant T dev":                              "azexec profile add --tenant T dev",
		"azexec profile list":                                            "azexec profile list",
		"azexec --identity profile whoami":                               "azexec --identity profile whoami",
		"azexec --profile dev whoami":                                    "azexec --profile dev whoami",
		"azexec --keyring-backend=file profile rotate dev --log-level x": "azexec --keyring-backend=file profile rotate --log-level x dev",
	}
	for in, want := range cases {
		if got := strings.Join(profileNameLast(strings.Fields(in)), " "); got != want {
			t.Errorf("%s\n  got  %s\n  want %s", in, got, want)
		}
	}
}

func TestReadStdinSecret(t *testing.T) {
	for in, want := range map[string]string{"abc\n": "abc", "abc\r\n": "abc", "abc": "abc", "": ""} {
		got, err := readStdinSecret(strings.NewReader(in), "secret")
		if err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	if _, err := readStdinSecret(strings.NewReader("first-line\nsecond-line\n"), "secret"); err == nil || strings.Contains(err.Error(), "line\n") {
		t.Errorf("two lines: %v", err)
	}
}

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testClient = "0b4e3f7c-1111-2222-3333-444455556666"
)

// TestProfileLifecycle runs add, list, show, rotate and remove in-process
// on the encrypted file backend, and checks that no file under HOME holds
// the secret and no output shows it.
func TestProfileLifecycle(t *testing.T) {
	home := withHome(t)
	const secret, rotated = "lifecycle~secret-0123456789", "lifecycle~rotated-9876543210"
	var all strings.Builder
	step := func(stdin string, wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := runCLIIn(t, stdin, args...)
		all.WriteString(out + errOut)
		if code != wantCode {
			t.Fatalf("azexec %q: status %d, want %d\n%s%s", args, code, wantCode, out, errOut)
		}
		return out + errOut
	}
	step(secret+"\n", 0, "profile", "add", "dev", "--no-verify", "--tenant", testTenant, "--client-id", testClient, "--subscription", "11111111-2222-3333-4444-555555555555")
	out := step("", 0, "profile", "list", "--json")
	var views []profileView
	if err := json.Unmarshal([]byte(out), &views); err != nil || len(views) != 1 || views[0].Keyring != "file" || views[0].ClientID != testClient {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if out := step("", 0, "profile", "show", "dev"); !strings.Contains(out, "in the file keyring (not shown)") {
		t.Errorf("show:\n%s", out)
	}
	step(rotated+"\n", 0, "profile", "rotate", "dev")
	assertNoFileHolds(t, home, secret, rotated)
	step("", 0, "profile", "remove", "dev")
	if out := step("", 0, "profile", "list"); !strings.Contains(out, "no profiles") {
		t.Errorf("list after remove:\n%s", out)
	}
	if entries, _ := os.ReadDir(filepath.Join(home, ".config", "azexec", "keyring")); len(entries) != 0 {
		t.Errorf("keyring entries left after remove: %v", entries)
	}
	if strings.Contains(all.String(), secret) || strings.Contains(all.String(), rotated) {
		t.Error("a secret was printed")
	}
}

func TestProfileBadInput(t *testing.T) {
	withHome(t)
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"s\n", []string{"profile", "add", "dev", "--client-id", testClient}, "no --tenant given"},
		{"s\n", []string{"profile", "add", "dev", "--tenant", testTenant, "--client-id", "not-a-guid"}, `invalid client id "not-a-guid"`},
		{"s\n", []string{"profile", "add", "bad/name", "--tenant", testTenant, "--client-id", testClient}, `invalid profile name "bad/name"`},
		{"", []string{"profile", "add", "dev", "--tenant", testTenant, "--client-id", testClient}, "no client secret of profile dev given"},
		{"s\n", []string{"profile", "add", "dev", "--tenant", testTenant, "--client-id", testClient, "--keyring-backend", "gnome"}, `unknown keyring backend "gnome"`},
		{"", []string{"profile", "show", "nope"}, `unknown profile "nope"`},
		{"", []string{"--profile", "nope", "whoami"}, `unknown profile "nope"`},
		{"", []string{"profile", "frobnicate"}, `unknown profile command "frobnicate"`},
	}
	for _, c := range cases {
		_, errOut, code := runCLIIn(t, c.stdin, c.args...)
		if code != exitUsage || !strings.Contains(errOut, "azexec: error: "+c.want) || !strings.Contains(errOut, "azexec: hint: ") {
			t.Errorf("azexec %q: status %d, want %d with %q and a hint\n%s", c.args, code, exitUsage, c.want, errOut)
		}
	}
}

// TestProfileWhoamiInProcess resolves a profile against the fake Azure.
func TestProfileWhoamiInProcess(t *testing.T) {
	s := withServicePrincipal(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AZEXEC_KEYRING_BACKEND", "file")
	t.Setenv("AZEXEC_KEYRING_PASSWORD", "test-only-passphrase")
	s.AddServicePrincipal(s.Tenant(), testClient, "profile-secret-value-1")
	for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"} {
		unsetForTest(t, k)
	}
	if _, errOut, code := runCLIIn(t, "profile-secret-value-1\n", "profile", "add", "dev", "--tenant", s.Tenant(), "--client-id", testClient); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := runCLI(t, "--profile", "dev", "whoami", "--json")
	if code != 0 {
		t.Fatalf("status %d\n%s", code, errOut)
	}
	var r whoamiReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Source != "profile" || r.Profile != "dev" || r.Keyring != "file" || r.ClientID != testClient {
		t.Fatalf("whoami: %v\n%s", err, out)
	}
	if len(r.Attempts) != 1 || !strings.Contains(r.Attempts[0].Reason, "only source tried") {
		t.Errorf("attempts = %+v", r.Attempts)
	}
	assertNoFileHolds(t, home, "profile-secret-value-1")
}

// assertNoFileHolds fails if any file under dir holds one of secrets.
func assertNoFileHolds(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds a secret in the clear", path)
			}
		}
		return nil
	})
	if n == 0 {
		t.Error("no file under HOME: the search proves nothing")
	}
}
