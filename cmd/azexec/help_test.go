package main

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestHelpCommand: `azexec help [COMMAND]` prints what --help prints, and
// refuses a topic that is no command.
func TestHelpCommand(t *testing.T) {
	isolate(t)
	for _, path := range [][]string{nil, {"whoami"}, {"token"}, {"profile"}, {"profile", "add"}, {"cache", "clear"}} {
		want, _, code := runCLI(t, append(slices.Clone(path), "--help")...)
		if code != 0 {
			t.Fatalf("%q --help: status %d", path, code)
		}
		got, stderr, code := runCLI(t, append([]string{"help"}, path...)...)
		if code != 0 || got != want || !strings.Contains(got, "USAGE:") {
			t.Errorf("help %q: status %d, differs from --help: %v\n%s%s", path, code, got != want, got, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "nope"}, `no help for "nope": there is no such command`},
		{[]string{"help", "profile", "nope"}, `no help for "profile nope": there is no such command`},
	} {
		out, stderr, code := runCLI(t, tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, "azexec: error: "+tc.want) || !strings.Contains(stderr, "azexec: hint: ") {
			t.Errorf("%q: status %d\n%s%s", tc.args, code, out, stderr)
		}
	}
	if out, _, _ := runCLI(t, "--help"); !strings.Contains(out, "   help ") || !strings.Contains(out, "   version ") || !strings.Contains(out, "   completion ") {
		t.Errorf("--help does not list help, version and completion:\n%s", out)
	}
}

// TestSubcommandHelpListsItsOwnOptions: a subcommand's help shows its own
// options, then only the global options that change what it does, under
// one heading; the wrapper's options appear nowhere in whoami's help.
func TestSubcommandHelpListsItsOwnOptions(t *testing.T) {
	isolate(t)
	wrapperOnly := []string{"--inject", "--token", "--allow-scope", "--arm", "--supervise"}
	for _, tc := range []struct {
		cmd      []string
		own      []string // before the heading
		global   []string // under it
		excluded []string // nowhere
	}{
		{[]string{"whoami"}, []string{"--json"}, []string{"--identity", "--cloud", "--env-file", "--subscription", "--timeout"}, wrapperOnly},
		{[]string{"env"}, []string{"--format", "--all"}, []string{"--identity", "--env-file", "--concurrency", "--keyvault-emulator", "--timeout"}, append(wrapperOnly, "--subscription")},
		{[]string{"token"}, []string{"--scope", "--resource", "--tenant", "--format"}, []string{"--identity", "--cloud"}, append(wrapperOnly, "--concurrency")},
		{[]string{"git-credential"}, nil, []string{"--identity"}, wrapperOnly},
		{[]string{"profile", "add"}, []string{"--tenant", "--client-id", "--subscription", "--no-verify"}, []string{"--cloud", "--keyring-backend"}, append(wrapperOnly, "--identity", "--env-file")},
		{[]string{"profile", "list"}, []string{"--json"}, []string{"--keyring-backend"}, append(wrapperOnly, "--identity", "--cloud")},
		{[]string{"cache", "clear"}, nil, []string{"--keyring-backend", "--profile"}, append(wrapperOnly, "--identity")},
	} {
		out, _, code := runCLI(t, append(slices.Clone(tc.cmd), "--help")...)
		own, global, found := strings.Cut(out, globalCategory)
		if code != 0 || !found {
			t.Errorf("%q --help: status %d, no %q heading:\n%s", tc.cmd, code, globalCategory, out)
			continue
		}
		has := func(section, flag string) bool { return strings.Contains(section, "\n   "+flag+" ") }
		for _, f := range tc.own {
			if !has(own, f) {
				t.Errorf("%q --help: %s not among its own options", tc.cmd, f)
			}
		}
		for _, f := range tc.global {
			if !has(global, f) || has(own, f) {
				t.Errorf("%q --help: %s not under the global heading", tc.cmd, f)
			}
		}
		for _, f := range tc.excluded {
			if has(out, f) {
				t.Errorf("%q --help lists %s, which does nothing there", tc.cmd, f)
			}
		}
	}
	// Hidden is not refused: a global option after the command is still
	// read, as before, wherever it is written.
	if _, stderr, _ := runCLI(t, "whoami", "--inject", "none", "--identity", "cli"); strings.Contains(stderr, "not defined") {
		t.Errorf("whoami --inject is no longer accepted:\n%s", stderr)
	}
}

// TestVersion: --version and version print the version, the commit and
// the Go version; the -ldflags variables win over the build information.
func TestVersion(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, stderr, code := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "azexec ") || !strings.Contains(out, "\ncommit: ") ||
			!strings.Contains(out, "\ngo:     "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("%q: status %d\n%s%s", args, code, out, stderr)
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}}}
	var b strings.Builder
	_ = printVersion(&b, readBuildInfo(bi))
	if got := b.String(); !strings.HasPrefix(got, "azexec v1.2.3\ncommit: 0123abcd (modified)\ngo:     go1.99.1 ") {
		t.Errorf("from build info:\n%s", got)
	}
	if got := readBuildInfo(nil); got.Version != "(devel)" || got.Commit != "" {
		t.Errorf("no build info: %+v", got)
	}
	version, commit = "v9.9.9", "feedface"
	t.Cleanup(func() { version, commit = "", "" })
	if got := readBuildInfo(bi); got.Version != "v9.9.9" || got.Commit != "feedface" || got.Modified {
		t.Errorf("-ldflags do not win: %+v", got)
	}
}

// TestFlagValueErrorsSayWhatIsExpected: `--timeout 30` used to say only
// "parse error".
func TestFlagValueErrorsSayWhatIsExpected(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{"", []string{"--timeout", "30", "whoami"}, `invalid --timeout "30": a duration needs a unit, e.g. 30s or 2m`},
		{"", []string{"whoami", "--timeout", "1x"}, `invalid --timeout "1x": not a duration`},
		{"AZEXEC_TIMEOUT=30", []string{"whoami"}, `invalid AZEXEC_TIMEOUT "30": a duration needs a unit, e.g. 30s or 2m`},
		{"", []string{"--concurrency", "many", "whoami"}, `invalid --concurrency "many": not a whole number`},
	} {
		if tc.env != "" {
			k, v, _ := strings.Cut(tc.env, "=")
			t.Setenv(k, v)
		}
		_, stderr, code := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, "azexec: error: "+tc.want) || strings.Contains(stderr, "parse error") {
			t.Errorf("%s %q: status %d\n%s", tc.env, tc.args, code, stderr)
		}
		if tc.env != "" {
			unsetForTest(t, strings.Split(tc.env, "=")[0])
		}
	}
}

// TestExtraArgumentsRefused: arguments to a command that takes none were
// ignored; they usually mean a program that needs -- before it.
func TestExtraArgumentsRefused(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args     []string
		wantErr  string
		wantHint string
	}{
		{[]string{"whoami", "-u"}, "", ""}, // an unknown option stays the flag parser's error
		{[]string{"whoami", "me"}, `azexec whoami takes no arguments, but was given "me"`, "did you mean azexec -- whoami me?"},
		{[]string{"--identity", "cli", "whoami", "--json", "x y"}, `azexec whoami takes no arguments, but was given "x y"`, "did you mean azexec -- whoami 'x y'?"},
		{[]string{"env", "FOO=bar"}, `azexec env takes no arguments, but was given "FOO=bar"`, "did you mean azexec -- env FOO=bar?"},
		{[]string{"version", "--short"}, "", ""},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, "azexec: error: "+tc.wantErr) || !strings.Contains(stderr, "azexec: hint: "+tc.wantHint) {
			t.Errorf("%q: status %d\n%s", tc.args, code, stderr)
		}
	}
}

// TestHintsKeepTheQuoting: a hint that echoes a command must be safe to
// paste back: `azexec sh -c 'touch x'` must not be advised as
// `azexec -- sh -c touch x`, which runs `touch` with no file.
func TestHintsKeepTheQuoting(t *testing.T) {
	isolate(t)
	_, stderr, code := runCLI(t, "sh", "-c", "touch x")
	if code != exitUsage || !strings.Contains(stderr, "put -- before it: azexec -- sh -c 'touch x'") {
		t.Errorf("status %d\n%s", code, stderr)
	}
	// Every argument survives a real shell, whatever it holds.
	args := []string{"plain", "two words", "", "it's", `"double"`, "$HOME", "`id`", "a\\b", "*", "~", "semi;colon", "new\nline", "-flag=x", "tab\there", "ünï"}
	out, err := exec.Command("/bin/sh", "-c", `for a in `+shellJoin(args)+`; do printf '%s\0' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !slices.Equal(got, args) {
		t.Errorf("through sh:\n got %q\nwant %q", got, args)
	}
	if shellJoin([]string{"go", "run", "./cmd/x", "--flag=a,b"}) != "go run ./cmd/x --flag=a,b" {
		t.Errorf("plain words were quoted: %s", shellJoin([]string{"go", "run", "./cmd/x", "--flag=a,b"}))
	}
}

// TestTokenOptionsAfterTheAlias: `azexec token arm --format json` works
// as the README shows, options before or after the alias.
func TestTokenOptionsAfterTheAlias(t *testing.T) {
	for in, want := range map[string]string{
		"azexec token arm --format json":                  "azexec token --format json arm",
		"azexec token arm --format=json --tenant T":       "azexec token --format=json --tenant T arm",
		"azexec --cloud china token arm --identity cli":   "azexec --cloud china token --identity cli arm",
		"azexec token --format json arm":                  "azexec token --format json arm",
		"azexec whoami --json":                            "azexec whoami --json",
		"azexec profile add dev --tenant T":               "azexec profile add dev --tenant T",
		"azexec token arm graph":                          "azexec token arm graph",
		"azexec --env-file token token arm --format json": "azexec --env-file token token --format json arm",
		"azexec token arm --format":                       "azexec token --format arm",
	} {
		if got := strings.Join(optionsFirst(strings.Fields(in)), " "); got != want {
			t.Errorf("%s\n  got  %s\n  want %s", in, got, want)
		}
	}
	withServicePrincipal(t)
	out, stderr, code := runCLI(t, "token", "arm", "--format", "json")
	if code != 0 || !strings.Contains(out, `"accessToken"`) {
		t.Errorf("token arm --format json: status %d\n%s%s", code, out, stderr)
	}
}

// TestWhoamiTextShowsCustomAuthority: the text form used to hide an
// authority that the JSON form showed.
func TestWhoamiTextShowsCustomAuthority(t *testing.T) {
	s := withServicePrincipal(t)
	out, stderr, code := runCLI(t, "whoami")
	if code != 0 || !strings.Contains(out, "\nauthority:     "+s.URL+"/\n") {
		t.Errorf("status %d\n%s%s", code, out, stderr)
	}
}

// TestEnvPlainFileWithoutIdentity: with nothing to resolve, env prints
// without an identity (isolate leaves none).
func TestEnvPlainFileWithoutIdentity(t *testing.T) {
	isolate(t)
	f := t.TempDir() + "/plain.env"
	if err := os.WriteFile(f, []byte("GREETING=hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "--env-file", f, "env")
	if code != 0 || out != "GREETING=hello\n" {
		t.Errorf("status %d\n%s%s", code, out, stderr)
	}
}
