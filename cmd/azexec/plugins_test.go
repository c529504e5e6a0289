package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestPluginArgs(t *testing.T) {
	cases := []struct{ in, want []string }{
		{[]string{"git-credential-azexec", "get"}, []string{"git-credential-azexec", "git-credential", "get"}},
		{[]string{"/usr/local/bin/docker-credential-azexec", "list"}, []string{"/usr/local/bin/docker-credential-azexec", "docker-credential", "list"}},
		{[]string{"docker-credential-azexec.exe", "get"}, []string{"docker-credential-azexec.exe", "docker-credential", "get"}},
		{[]string{"git-credential-azexec", "--identity", "cli", "get"}, []string{"git-credential-azexec", "git-credential", "--identity", "cli", "get"}},
		{[]string{"azexec", "git-credential", "get"}, []string{"azexec", "git-credential", "get"}},
		{[]string{"/opt/git-credential-azexec/azexec", "whoami"}, []string{"/opt/git-credential-azexec/azexec", "whoami"}},
		{nil, nil},
	}
	for _, tc := range cases {
		if got := pluginArgs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("pluginArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// runAs runs the command line in-process as if the binary were invoked
// under name, with stdin.
func runAs(t *testing.T, name, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{name}, args...), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestPluginsWithoutIdentity covers the answers that need no identity:
// nothing is resolved for them, so they work with nothing configured.
func TestPluginsWithoutIdentity(t *testing.T) {
	isolate(t)
	cases := []struct {
		name, stdin string
		args        []string
		stdout      string
		code        int
	}{
		{"docker-credential-azexec", "https://index.docker.io/v1/\n", []string{"get"}, dockerNotFound + "\n", 1},
		{"docker-credential-azexec", "", []string{"get"}, dockerNoServerURL + "\n", 1},
		{"docker-credential-azexec", "unused", []string{"list"}, "{}\n", 0},
		{"docker-credential-azexec", `{"ServerURL":"r","Username":"u","Secret":"s"}`, []string{"store"}, "", 0},
		{"docker-credential-azexec", "r.azurecr.io", []string{"erase"}, "", 0},
		{"git-credential-azexec", "protocol=https\nhost=github.com\n\n", []string{"get"}, "", 0},
		{"git-credential-azexec", "protocol=http\nhost=dev.azure.com\n\n", []string{"get"}, "", 0},
		{"git-credential-azexec", "protocol=https\nhost=dev.azure.com\npassword=p\n\n", []string{"store"}, "", 0},
		{"azexec", "protocol=https\nhost=dev.azure.com\n\n", []string{"git-credential", "erase"}, "", 0},
	}
	for _, tc := range cases {
		stdout, stderr, code := runAs(t, tc.name, tc.stdin, tc.args...)
		if stdout != tc.stdout || code != tc.code || stderr != "" {
			t.Errorf("%s %q: status %d, stdout %q, stderr %q; want %d, %q and nothing on stderr", tc.name, tc.args, code, stdout, stderr, tc.code, tc.stdout)
		}
	}
	// Usage errors exit 2; docker's get also answers on stdout.
	if _, stderr, code := runAs(t, "git-credential-azexec", ""); code != 2 || !strings.Contains(stderr, "azexec: hint:") {
		t.Errorf("no operation: status %d\n%s", code, stderr)
	}
	if stdout, _, code := runAs(t, "docker-credential-azexec", "", "frobnicate"); code != 2 || !strings.HasPrefix(stdout, "azexec: error: ") {
		t.Errorf("unknown action: status %d, stdout %q", code, stdout)
	}
}

func TestTokenCommand(t *testing.T) {
	withServicePrincipal(t)
	for _, format := range []string{"token", "json", "exec-credential"} {
		stdout, stderr, code := runCLI(t, "token", "--format", format, "arm")
		if code != 0 || stdout == "" {
			t.Errorf("--format %s: status %d\n%s", format, code, stderr)
		}
		if stderr != "" {
			t.Errorf("--format %s: stderr %q, want nothing at the default log level", format, stderr)
		}
	}
}
