package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

// runCLI runs the whole command line in-process.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"azexec"}, args...), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// isolate clears every variable a source reads, so the developer's own
// environment never leaks into a test, points PATH at nothing and HOME
// (with the Azure CLI's and azd's config) at an empty directory: the
// machine's az login, ~/.azure and azexec config are out of reach.
func isolate(t *testing.T) {
	for _, k := range []string{
		"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
		"AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_AUTH_LOCATION",
		"AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET",
		"IMDS_ENDPOINT", "AZURE_TOKEN_CREDENTIALS", "AZURE_AUTHORITY_HOST", "AZURE_SUBSCRIPTION_ID",
		"AZEXEC_IDENTITY", "AZEXEC_CLOUD", "AZEXEC_ENV_FILE", "AZEXEC_LOG_LEVEL", "AZEXEC_LOG_FORMAT",
		"AZEXEC_AUTH_FILE", "AZEXEC_CLIENT_ID", "AZEXEC_SUPERVISE", "AZEXEC_CONCURRENCY", "AZEXEC_TIMEOUT",
	} {
		t.Setenv(k, "")
		// t.Setenv then unset: a set-but-empty AZURE_TOKEN_CREDENTIALS is
		// an error, so these must be truly absent.
		unsetForTest(t, k)
	}
	// Whatever else the developer exports under these prefixes
	// (AZURE_CONFIG_DIR, AZEXEC_KEYRING_BACKEND, ARM_*) is dropped too.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		for _, prefix := range []string{"AZURE_", "AZEXEC_", "ARM_", "AZD_", "MSI_", "IDENTITY_", "IMDS_"} {
			if strings.HasPrefix(k, prefix) {
				t.Setenv(k, "")
				unsetForTest(t, k)
			}
		}
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	unsetForTest(t, "XDG_CONFIG_HOME")
	t.Setenv("PATH", t.TempDir())
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AZURE_CONFIG_DIR", filepath.Join(home, ".azure"))
	t.Setenv("AZD_CONFIG_DIR", filepath.Join(home, ".azd"))
}

// fake is one fake Azure for the whole package: Go loads SSL_CERT_FILE once
// per process, so a second server with a new CA would not be trusted.
var fake = sync.OnceValues(func() (*fakeazure.Server, error) {
	dir, err := os.MkdirTemp("", "azexec-cmd-test")
	if err != nil {
		return nil, err
	}
	return fakeazure.Start(fakeazure.Options{Dir: dir})
})

// withServicePrincipal configures a service principal of the fake Azure in
// the environment.
func withServicePrincipal(t *testing.T) *fakeazure.Server {
	t.Helper()
	isolate(t)
	s, err := fake()
	if err != nil {
		t.Fatal(err)
	}
	s.AddServicePrincipal(s.Tenant(), "client-1", "secret-value-1")
	t.Setenv("SSL_CERT_FILE", s.CAFile)
	t.Setenv("AZURE_AUTHORITY_HOST", s.URL+"/")
	t.Setenv("AZURE_TENANT_ID", s.Tenant())
	t.Setenv("AZURE_CLIENT_ID", "client-1")
	t.Setenv("AZURE_CLIENT_SECRET", "secret-value-1")
	return s
}

func TestSplitCommand(t *testing.T) {
	own, cmd, has := splitCommand([]string{"azexec", "--cloud", "china", "--", "whoami", "--", "x"})
	if strings.Join(own, " ") != "azexec --cloud china" || strings.Join(cmd, " ") != "whoami -- x" || !has {
		t.Errorf("got %q %q %v", own, cmd, has)
	}
	if _, _, has := splitCommand([]string{"azexec", "whoami"}); has {
		t.Error("no -- but has command")
	}
}

func TestUsageErrors(t *testing.T) {
	isolate(t)
	cases := []struct {
		args       []string
		wantErr    string
		wantHint   string
		wantStatus int
	}{
		{nil, "no command given", "azexec [options] -- COMMAND", exitUsage},
		{[]string{"--"}, "no command given", "azexec [options] -- COMMAND", exitUsage},
		{[]string{"make", "deploy"}, `unknown command "make"`, "azexec -- make deploy", exitUsage},
		{[]string{"--no-such-flag"}, "flag provided but not defined", "azexec --help", exitUsage},
		{[]string{"--log-level", "loud", "whoami"}, `unknown log level "loud"`, "trace, debug", exitUsage},
		{[]string{"--cloud", "mars", "whoami"}, `unknown cloud "mars"`, "public, china, usgov", exitUsage},
		{[]string{"--identity", "magic", "whoami"}, `unknown identity source "magic"`, "auto or one of", exitUsage},
		{[]string{"--identity", "profile", "whoami"}, "--identity profile needs a profile name", "--profile NAME", exitUsage},
		{[]string{"--allow-scope", "keyvault", "--", "true"}, `--allow-scope limits the identity endpoint, but --inject is "auto"`, "--inject endpoint", exitUsage},
		{[]string{"--inject", "endpoint", "--allow-scope", "nope", "--", "true"}, `unknown scope alias "nope"`, "use an alias", exitUsage},
	}
	for _, tc := range cases {
		_, stderr, code := runCLI(t, tc.args...)
		if code != tc.wantStatus || !strings.Contains(stderr, "azexec: error: "+tc.wantErr) || !strings.Contains(stderr, "azexec: hint: ") || !strings.Contains(stderr, tc.wantHint) {
			t.Errorf("%q: status %d, stderr:\n%s", tc.args, code, stderr)
		}
	}
}

func TestHelpTeaches(t *testing.T) {
	isolate(t)
	out, _, code := runCLI(t, "--help")
	for _, want := range []string{"EXIT STATUS", "AZURE_TOKEN_CREDENTIALS", "--identity", "AZEXEC_IDENTITY", "--env-file", "later wins", "azexec -- go run ."} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if code != 0 {
		t.Errorf("status %d", code)
	}
}

func TestGlobalOptionsBeforeOrAfterSubcommand(t *testing.T) {
	s := withServicePrincipal(t)
	for _, args := range [][]string{
		{"--identity", "env", "whoami", "--json"},
		{"whoami", "--identity", "env", "--json"},
		{"--identity", "cli", "whoami", "--identity", "env", "--json"}, // the inner one wins
	} {
		out, stderr, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%q: status %d: %s", args, code, stderr)
		}
		var r whoamiReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Source != "env" || r.ClientID != "client-1" || r.ObjectID != s.ObjectID(s.Tenant(), "client-1") || len(r.Attempts) != 1 {
			t.Errorf("%q: %+v", args, r)
		}
	}
	_, stderr, code := runCLI(t, "whoami", "--identity", "cli")
	if code != exitIdentity || !strings.Contains(stderr, "cli        skipped  az not found on PATH") || strings.Contains(stderr, "env ") {
		t.Errorf("--identity cli after whoami: %d\n%s", code, stderr)
	}
	t.Setenv("AZEXEC_IDENTITY", "azd")
	_, stderr, code = runCLI(t, "whoami")
	if code != exitIdentity || !strings.Contains(stderr, "azd not found on PATH") {
		t.Errorf("AZEXEC_IDENTITY=azd: %d\n%s", code, stderr)
	}
}

func TestWrapperExitStatusAndEnvironment(t *testing.T) {
	withServicePrincipal(t)
	t.Setenv("PATH", testenv.Tools(t)) // sh, not /usr/bin where az lives
	dir := t.TempDir()
	out, stderr, code := runCLI(t, "--", "sh", "-c", `echo "$AZURE_CLIENT_ID ${#AZURE_CLIENT_SECRET}" > `+dir+`/seen; exit 7`)
	if code != 7 {
		t.Fatalf("status %d, stderr %s, stdout %s", code, stderr, out)
	}
	seen := readFile(t, dir+"/seen")
	if seen != "client-1 14\n" {
		t.Errorf("child saw %q", seen)
	}
}

func TestScrubberRedactsRegisteredValues(t *testing.T) {
	var buf bytes.Buffer
	s := &scrubber{w: &buf}
	s.Add("abc") // too short to scrub
	s.Add("hunter2-secret")
	n, err := s.Write([]byte("value=hunter2-secret abc\n"))
	if err != nil || n != len("value=hunter2-secret abc\n") {
		t.Fatalf("write: %d %v", n, err)
	}
	if buf.String() != "value=[redacted] abc\n" {
		t.Errorf("got %q", buf.String())
	}
}
