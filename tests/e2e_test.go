package tests

// This file is the harness: TestMain (offline check, one build of the
// binary) and the helpers every end-to-end test uses. The tests live in the
// other files, e.g. exec_test.go (exit status, signals, stdin),
// whoami_test.go (each identity source), chain_test.go (how the chain
// skips, stops and is narrowed), env_test.go (env files, the child's
// environment) and secrets_test.go (nothing secret in any output).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

// azexecBin is the binary under test, built once by TestMain.
var azexecBin string

// toolsDir holds links to the plain tools (sh, env, cat...) the tests'
// children run: with a test's bin directory, the whole PATH azexec gets.
// It never holds az, azd or anything else that reads a real login.
var toolsDir string

// raceEnabled is set by race_test.go when the tests run with -race; the
// binary under test is then built with -race too.
var raceEnabled bool

// runTimeout bounds every run of the binary, so that a hang fails the test
// instead of the whole package. It is a guard, not an assertion on speed.
const runTimeout = 2 * time.Minute

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait for the processes they start, so run more of
	// them at once than there are CPUs, unless -parallel says otherwise.
	if !flagGiven("test.parallel") {
		_ = flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	}
	if err := testenv.RequireOffline(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e tests must run offline: use tests/run.sh")
		fmt.Fprintf(os.Stderr, "(%v)\n", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "azexec-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	azexecBin = filepath.Join(dir, "azexec")
	if bin := os.Getenv("AZEXEC_TEST_BINARY"); bin != "" {
		// Test a binary built elsewhere (a release, or a deliberately
		// broken copy, to see that the tests catch it).
		azexecBin, err = filepath.Abs(bin)
	} else {
		err = testenv.BuildAzexec("..", azexecBin, raceEnabled)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building azexec:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	toolsDir = filepath.Join(dir, "tools")
	if err := testenv.LinkTools(toolsDir, testenv.BaseTools...); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// flagGiven reports whether the named flag was on the command line.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// fake is one test's fake Azure with a scratch directory, a HOME and a
// directory that comes first on PATH (for fake az, azd and programs).
type fake struct {
	*fakeazure.Server
	dir    string
	binDir string
	home   string
}

// startFake starts a fake Azure for t alone, so its request log and issued
// tokens belong to t; it is closed when t ends.
func startFake(t testing.TB) *fake {
	t.Helper()
	dir := t.TempDir()
	s, err := fakeazure.Start(fakeazure.Options{Dir: filepath.Join(dir, "fakeazure")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	f := &fake{Server: s, dir: dir, binDir: filepath.Join(dir, "bin"), home: filepath.Join(dir, "home")}
	for _, d := range []string{f.binDir, f.home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// env is the whole environment azexec runs with: a PATH holding only the
// test's bin directory and toolsDir (never /usr/bin, where the machine's
// az and azd live), a HOME of its own with the Azure CLI's and azd's
// config in it, trust in the fake's CA and the fake as authority, then
// extra (NAME=VALUE, later wins). Nothing is inherited from the
// developer's environment. The token cache's keyring is the encrypted file
// under the test's HOME: the default, the kernel keyring, is shared by
// every process of the user, and a token one test cached (for the same
// IMDS host, say) must not answer another's request. Without
// AZEXEC_KEYRING_PASSWORD that keyring stays locked and nothing is
// cached; cache_test.go tests the default keyring itself.
func (f *fake) env(extra ...string) []string {
	return setEnv([]string{
		"PATH=" + f.binDir + ":" + toolsDir,
		"HOME=" + f.home,
		"AZURE_CONFIG_DIR=" + filepath.Join(f.home, ".azure"),
		"AZD_CONFIG_DIR=" + filepath.Join(f.home, ".azd"),
		"SSL_CERT_FILE=" + f.CAFile,
		"AZURE_AUTHORITY_HOST=" + f.URL + "/",
		"AZEXEC_KEYRING_BACKEND=file",
	}, extra...)
}

// setEnv returns env with each NAME=VALUE of kv set, replacing an earlier
// value of the same name.
func setEnv(env []string, kv ...string) []string {
	out := slices.Clone(env)
	for _, e := range kv {
		name, _, _ := strings.Cut(e, "=")
		out = slices.DeleteFunc(out, func(x string) bool { return strings.HasPrefix(x, name+"=") })
		out = append(out, e)
	}
	return out
}

// unsetEnv returns env without the named variables.
func unsetEnv(env []string, names ...string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(x string) bool {
		name, _, _ := strings.Cut(x, "=")
		return slices.Contains(names, name)
	})
}

// path returns a path in the test's scratch directory.
func (f *fake) path(name string) string { return filepath.Join(f.dir, name) }

// sp is a service principal registered with the fake.
type sp struct{ tenant, client, secret string }

// newSP registers a service principal with a client secret in a tenant of
// its own, with random ids and secret.
func (f *fake) newSP() sp {
	p := sp{tenant: newUUID(), client: newUUID(), secret: "e2e8Q~" + randomHex(20)}
	f.AddServicePrincipal(p.tenant, p.client, p.secret)
	return p
}

// env is the service principal as EnvironmentCredential reads it.
func (p sp) env() []string {
	return []string{"AZURE_TENANT_ID=" + p.tenant, "AZURE_CLIENT_ID=" + p.client, "AZURE_CLIENT_SECRET=" + p.secret}
}

// objectID is the oid the fake's tokens carry for p.
func (p sp) objectID() string { return fakeazure.ObjectID(p.tenant, p.client) }

// newCertSP registers a service principal whose credential is a new
// certificate (PEM and PKCS#12 files, the latter protected by a random
// password).
func (f *fake) newCertSP(t *testing.T) (sp, *fakeazure.ClientCertificate) {
	t.Helper()
	p := sp{tenant: newUUID(), client: newUUID()}
	cc, err := fakeazure.NewClientCertificate(f.dir, "sp-"+p.client[:8], "pfx-"+randomHex(12), 0)
	if err != nil {
		t.Fatal(err)
	}
	f.AddServicePrincipal(p.tenant, p.client, "")
	f.AddCertificate(p.tenant, p.client, cc.Cert)
	return p, cc
}

// authFile is the JSON of `az ad sp create-for-rbac --sdk-auth`, in the
// order az writes it.
type authFile struct {
	ClientID                       string `json:"clientId"`
	ClientSecret                   string `json:"clientSecret"`
	SubscriptionID                 string `json:"subscriptionId"`
	TenantID                       string `json:"tenantId"`
	ActiveDirectoryEndpointURL     string `json:"activeDirectoryEndpointUrl"`
	ResourceManagerEndpointURL     string `json:"resourceManagerEndpointUrl"`
	ActiveDirectoryGraphResourceID string `json:"activeDirectoryGraphResourceId"`
	SQLManagementEndpointURL       string `json:"sqlManagementEndpointUrl"`
	GalleryEndpointURL             string `json:"galleryEndpointUrl"`
	ManagementEndpointURL          string `json:"managementEndpointUrl"`
}

// writeAuthFile writes an auth file for p whose Entra ID endpoint is the
// fake, as UTF-8 or, when utf16le, as UTF-16LE with a byte order mark (as
// PowerShell's Out-File writes it). It returns the path.
func (f *fake) writeAuthFile(t *testing.T, name string, p sp, subscription string, utf16le bool) string {
	t.Helper()
	data, err := json.MarshalIndent(authFile{
		ClientID: p.client, ClientSecret: p.secret, SubscriptionID: subscription, TenantID: p.tenant,
		ActiveDirectoryEndpointURL:     f.URL,
		ResourceManagerEndpointURL:     "https://management.azure.com/",
		ActiveDirectoryGraphResourceID: "https://graph.windows.net/",
		SQLManagementEndpointURL:       "https://management.core.windows.net:8443/",
		GalleryEndpointURL:             "https://gallery.azure.com/",
		ManagementEndpointURL:          "https://management.core.windows.net/",
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if utf16le {
		units := utf16.Encode([]rune(string(data)))
		buf := []byte{0xFF, 0xFE}
		for _, u := range units {
			buf = binary.LittleEndian.AppendUint16(buf, u)
		}
		data = buf
	}
	path := f.path(name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeProgram writes an executable shell script named name into the
// test's bin directory (first on PATH).
func (f *fake) writeProgram(t *testing.T, name, script string) string {
	t.Helper()
	path := filepath.Join(f.binDir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// cliLogin is what a fake az or azd answers: a token the fake minted for an
// app in a tenant, and its expiry.
type cliLogin struct {
	tenant, client string
	token          string
	expiresOn      time.Time
	// calls is the file the fake program appends its arguments to on every
	// run: it exists only if the program ran.
	calls string
}

func (c cliLogin) objectID() string { return fakeazure.ObjectID(c.tenant, c.client) }

// ran reports whether the fake program was run at all.
func (c cliLogin) ran() bool {
	_, err := os.Stat(c.calls)
	return err == nil
}

// callArgs returns the arguments of every run, one line each.
func (c cliLogin) callArgs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(c.calls)
	if err != nil {
		t.Errorf("reading the fake's call log: %v", err)
	}
	return string(b)
}

// mintLogin mints an ARM token for a new app in a new tenant, as a CLI
// login would hold it.
func (f *fake) mintLogin(name string) cliLogin {
	c := cliLogin{tenant: newUUID(), client: newUUID(), calls: f.path(name + ".calls")}
	c.token = f.MintToken(c.tenant, c.client, "https://management.azure.com/", time.Hour)
	c.expiresOn = time.Now().Add(time.Hour).Truncate(time.Second)
	return c
}

// writeFakeAz puts an `az` on PATH that answers
// `az account get-access-token -o json --resource R` exactly as Azure CLI
// 2.54+ prints it, and refuses any other arguments.
func (f *fake) writeFakeAz(t *testing.T, subscription string) cliLogin {
	t.Helper()
	c := f.mintLogin("az")
	out, err := json.MarshalIndent(map[string]any{
		"accessToken":  c.token,
		"expiresOn":    c.expiresOn.Local().Format("2006-01-02 15:04:05.000000"),
		"expires_on":   c.expiresOn.Unix(),
		"subscription": subscription,
		"tenant":       c.tenant,
		"tokenType":    "Bearer",
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	f.writeProgram(t, "az", fmt.Sprintf(`printf '%%s\n' "$*" >> '%s'
case "$*" in
"account get-access-token -o json --resource "*) ;;
*) echo "fake az: unexpected arguments: $*" >&2; exit 2 ;;
esac
cat <<'JSON'
%s
JSON
`, c.calls, out))
	return c
}

// writeFakeAzd puts an `azd` on PATH that answers
// `azd auth token -o json --no-prompt --scope S` as azd prints it.
func (f *fake) writeFakeAzd(t *testing.T) cliLogin {
	t.Helper()
	c := f.mintLogin("azd")
	out, err := json.Marshal(map[string]any{
		"token":     c.token,
		"expiresOn": c.expiresOn.UTC().Format(time.RFC3339),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.writeProgram(t, "azd", fmt.Sprintf(`printf '%%s\n' "$*" >> '%s'
case "$*" in
"auth token -o json --no-prompt --scope "*) ;;
*) echo "fake azd: unexpected arguments: $*" >&2; exit 2 ;;
esac
cat <<'JSON'
%s
JSON
`, c.calls, out))
	return c
}

// result is one finished run of azexec. code is the status a shell would
// report ($?): the exit code, or 128+N when signal N killed the process.
type result struct {
	stdout, stderr string
	code           int
	signaled       bool // the process itself was killed by a signal
}

// runAzexec runs the binary with exactly env, stdin and args, and returns
// its output and the shell's view of its status.
func runAzexec(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	r := runAzexecResult(t, env, stdin, args...)
	return r.stdout, r.stderr, r.code
}

// runAzexecResult is runAzexec with the whole result.
func runAzexecResult(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, azexecBin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("azexec %q did not finish within %s\nstdout:\n%s\nstderr:\n%s", args, runTimeout, out.String(), errOut.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running azexec %q: %v", args, err)
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	r.code, r.signaled = shellStatus(cmd.ProcessState)
	t.Logf("azexec %q: status %d\nstdout:\n%s\nstderr:\n%s", args, r.code, clip(r.stdout), clip(r.stderr))
	return r
}

// shellStatus is the status a shell reports for a finished process.
func shellStatus(ps *os.ProcessState) (code int, signaled bool) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), true
	}
	return ps.ExitCode(), false
}

// clip shortens output for the test log.
func clip(s string) string {
	const max = 4000
	if len(s) > max {
		return s[:max] + fmt.Sprintf("\n... (%d more bytes)", len(s)-max)
	}
	return s
}

// whoamiJSON is what `azexec whoami --json` prints.
type whoamiJSON struct {
	Source       string    `json:"source"`
	Kind         string    `json:"kind"`
	TenantID     string    `json:"tenantId"`
	ClientID     string    `json:"clientId"`
	ObjectID     string    `json:"objectId"`
	User         string    `json:"user"`
	Cloud        string    `json:"cloud"`
	Authority    string    `json:"authority"`
	ExpiresOn    time.Time `json:"expiresOn"`
	Subscription string    `json:"subscriptionId"`
	Attempts     []attempt `json:"attempts"`
}

type attempt struct {
	Source string `json:"source"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Hint   string `json:"hint"`
}

// attemptsString lists attempts as "env:skipped auth-file:ok", for
// comparing the chain's path in one line.
func attemptsString(as []attempt) string {
	var parts []string
	for _, a := range as {
		parts = append(parts, a.Source+":"+a.Status)
	}
	return strings.Join(parts, " ")
}

// whoami runs `azexec ARGS... whoami --json` (args may also name the
// subcommand themselves), requires success and decodes the report.
func whoami(t *testing.T, env []string, args ...string) whoamiJSON {
	t.Helper()
	if !slices.Contains(args, "whoami") {
		args = append(args, "whoami")
	}
	args = append(args, "--json")
	stdout, stderr, code := runAzexec(t, env, "", args...)
	if code != 0 {
		t.Fatalf("azexec %q: status %d, want 0\nstderr:\n%s", args, code, stderr)
	}
	var w whoamiJSON
	if err := json.Unmarshal([]byte(stdout), &w); err != nil {
		t.Fatalf("azexec %q: decoding the JSON report: %v\n%s", args, err, stdout)
	}
	return w
}

// attemptLine matches one source in the "sources tried" list:
// "  NAME  STATUS  REASON".
var attemptLine = regexp.MustCompile(`(?m)^  (\S+)\s+(skipped|failed|ok)(?:\s+(.*))?$`)

// listedAttempts parses the "sources tried" lines of azexec's output.
func listedAttempts(out string) []attempt {
	var as []attempt
	for _, m := range attemptLine.FindAllStringSubmatch(out, -1) {
		as = append(as, attempt{Source: m[1], Status: m[2], Reason: strings.TrimSpace(m[3])})
	}
	return as
}

// requireLine fails unless out has a line starting with prefix, and
// returns that line.
func requireLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Errorf("no line starting with %q in:\n%s", prefix, out)
	return ""
}

// marker is a file that a command creates to prove it ran.
type marker string

func newMarker(t *testing.T) marker { return marker(filepath.Join(t.TempDir(), "ran")) }

// command is a shell command line that creates the marker.
func (m marker) command() []string { return []string{"sh", "-c", "touch '" + string(m) + "'"} }

func (m marker) exists() bool {
	_, err := os.Stat(string(m))
	return err == nil
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
