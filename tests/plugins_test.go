package tests

// End-to-end tests of the credential plugins: `azexec token` (bare, az's
// JSON, kubectl's ExecCredential), the git credential helper driven by the
// real git, and the docker credential helper driven by a client that speaks
// the docker-credential-helpers protocol exactly as docker's does.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

const (
	aksServerApp  = "6dae42f8-4368-4678-94ff-3960e28e3630"
	devOpsApp     = "499b84ac-1321-427f-aa17-267ca6975798"
	acrUser       = "00000000-0000-0000-0000-000000000000"
	execInfoV1    = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`
	execInfoBeta1 = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`
)

// tokenClaims decodes the claims of a JWT-shaped token, or fails.
func tokenClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// requireIssued fails unless tok is a token the fake issued, for audience
// aud when aud is not empty.
func requireIssued(t *testing.T, f *fake, tok, aud string) {
	t.Helper()
	if !slices.Contains(f.IssuedTokens(), tok) {
		t.Fatalf("the token printed is not one the fake issued")
	}
	if aud != "" {
		if got := tokenClaims(t, tok)["aud"]; got != aud {
			t.Errorf("token audience %v, want %q", got, aud)
		}
	}
}

// noIssuedToken fails if out holds any token the fake issued (Entra access
// tokens and registry refresh tokens), whole or in part.
func noIssuedToken(t *testing.T, f *fake, what, out string) {
	t.Helper()
	for i, tok := range f.IssuedTokens() {
		parts := strings.Split(tok, ".")
		for j, piece := range []string{tok, parts[1], parts[2]} {
			if strings.Contains(out, piece) {
				t.Errorf("%s holds issued token %d (%s)", what, i, [...]string{"whole", "payload", "signature"}[j])
			}
		}
	}
}

// strictDecode decodes JSON into v, refusing unknown fields and trailing
// data, so that a misspelt or extra field fails the test.
func strictDecode(t *testing.T, data string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, data)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value:\n%s", data)
	}
}

func TestPluginTokenBare(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	env := f.env(p.env()...)
	for _, args := range [][]string{
		{"token", "arm"},
		{"token", "--resource", "https://management.azure.com/"},
		{"token", "--scope", "https://management.azure.com/.default"},
		{"--log-level", "trace", "token", "--format", "token", "arm"},
	} {
		stdout, stderr, code := runAzexec(t, env, "", args...)
		if code != 0 {
			t.Fatalf("%q: status %d\n%s", args, code, stderr)
		}
		tok, ok := strings.CutSuffix(stdout, "\n")
		if !ok || strings.ContainsAny(tok, "\n ") {
			t.Fatalf("%q: stdout is not one token and a newline: %q", args, clip(stdout))
		}
		requireIssued(t, f, tok, "https://management.azure.com")
		noIssuedToken(t, f, "stderr", stderr)
	}
	stdout, _, code := runAzexec(t, env, "", "token", "--resource", "aks")
	if code != 0 {
		t.Fatalf("--resource aks: status %d", code)
	}
	requireIssued(t, f, strings.TrimSpace(stdout), aksServerApp)
}

// azCLIToken is exactly the field set of `az account get-access-token -o
// json` (Azure CLI 2.54 and later).
type azCLIToken struct {
	AccessToken  string `json:"accessToken"`
	ExpiresOn    string `json:"expiresOn"`
	ExpiresOnTS  int64  `json:"expires_on"`
	Subscription string `json:"subscription"`
	Tenant       string `json:"tenant"`
	TokenType    string `json:"tokenType"`
}

func TestPluginTokenJSON(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	sub := newUUID()
	env := f.env(append(p.env(), "AZURE_SUBSCRIPTION_ID="+sub)...)
	before := time.Now().Truncate(time.Second)
	stdout, stderr, code := runAzexec(t, env, "", "token", "--format", "json", "--resource", "https://vault.azure.net")
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	var got azCLIToken
	strictDecode(t, stdout, &got)
	requireIssued(t, f, got.AccessToken, "https://vault.azure.net")
	if got.Tenant != p.tenant || got.TokenType != "Bearer" || got.Subscription != sub {
		t.Errorf("tenant %q, tokenType %q, subscription %q; want %q, Bearer, %q", got.Tenant, got.TokenType, got.Subscription, p.tenant, sub)
	}
	exp := time.Unix(got.ExpiresOnTS, 0)
	if exp.Before(before.Add(fakeazure.DefaultTokenTTL-time.Minute)) || exp.After(time.Now().Add(fakeazure.DefaultTokenTTL+time.Minute)) {
		t.Errorf("expires_on %v is not about an hour from now", exp)
	}
	// expiresOn is local time without a zone, as az prints it, and as
	// azidentity's AzureCLICredential parses it.
	local, err := time.ParseInLocation("2006-01-02 15:04:05.999999", got.ExpiresOn, time.Local)
	if err != nil || !local.Equal(exp) {
		t.Errorf("expiresOn %q = %v, %v; want %v", got.ExpiresOn, local, err, exp)
	}
	if !strings.HasPrefix(stdout, "{\n  \"accessToken\": ") {
		t.Errorf("not az's layout (two-space indent, sorted keys):\n%s", clip(stdout))
	}
}

// TestPluginTokenJSONAsAzureCLI puts azexec's JSON where the Azure SDK
// expects az's: a fake `az` answers with `azexec token --format json`, and
// a second azexec resolves the cli source through it. The SDK's own
// AzureCLICredential parses the output, which is the proof that scripts
// can switch without changes.
func TestPluginTokenJSONAsAzureCLI(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	calls := f.path("az.calls")
	f.writeProgram(t, "az", fmt.Sprintf(`printf '%%s\n' "$*" >> '%s'
[ "$1 $2 $3 $4 $5" = "account get-access-token -o json --resource" ] || { echo "fake az: unexpected arguments: $*" >&2; exit 2; }
exec '%s' --identity env token --format json --resource "$6"
`, calls, azexecBin))
	w := whoami(t, f.env(p.env()...), "--identity", "cli")
	if w.Source != "cli" || w.TenantID != p.tenant || w.ClientID != p.client || w.ObjectID != p.objectID() {
		t.Errorf("whoami through az = %+v; want the service principal %s in %s", w, p.client, p.tenant)
	}
	if time.Until(w.ExpiresOn) < fakeazure.DefaultTokenTTL-2*time.Minute {
		t.Errorf("expiry read by the SDK: %v", w.ExpiresOn)
	}
	if b, err := os.ReadFile(calls); err != nil || !strings.Contains(string(b), "--resource https://management.azure.com") {
		t.Errorf("fake az calls: %q, %v", b, err)
	}
}

// execCredential is k8s.io/client-go/pkg/apis/clientauthentication/v1's
// ExecCredential (v1beta1 has the same fields), field for field, so that a
// strict decode fails on anything client-go would not read. client-go itself
// is not a dependency: it would pull in apimachinery for one struct.
type execCredential struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       *struct {
		Cluster     json.RawMessage `json:"cluster,omitempty"`
		Interactive bool            `json:"interactive"`
	} `json:"spec,omitempty"`
	Status *struct {
		ExpirationTimestamp   *string `json:"expirationTimestamp,omitempty"`
		Token                 string  `json:"token,omitempty"`
		ClientCertificateData string  `json:"clientCertificateData,omitempty"`
		ClientKeyData         string  `json:"clientKeyData,omitempty"`
	} `json:"status,omitempty"`
}

// checkExecCredential applies client-go's rules for a plugin's answer: the
// version it asked for, kind ExecCredential, a status with a token (a
// token and a client certificate are not both needed), and an expiry that
// parses as metav1.Time does (RFC 3339).
func checkExecCredential(t *testing.T, f *fake, out, wantVersion string) {
	t.Helper()
	var ec execCredential
	strictDecode(t, out, &ec)
	if ec.APIVersion != wantVersion || ec.Kind != "ExecCredential" {
		t.Errorf("apiVersion %q kind %q; want %q ExecCredential", ec.APIVersion, ec.Kind, wantVersion)
	}
	if ec.Status == nil || ec.Status.Token == "" || ec.Status.ExpirationTimestamp == nil {
		t.Fatalf("no status, token or expirationTimestamp:\n%s", clip(out))
	}
	requireIssued(t, f, ec.Status.Token, aksServerApp)
	exp, err := time.Parse(time.RFC3339, *ec.Status.ExpirationTimestamp)
	if err != nil {
		t.Fatalf("expirationTimestamp: %v", err)
	}
	// The SDK learns the expiry as expires_in, relative to when the answer
	// arrived, so it may fall a second or two before the token's own exp
	// on a loaded machine; never after it.
	c := tokenClaims(t, ec.Status.Token)
	if tokenExp, _ := c["exp"].(float64); float64(exp.Unix()) > tokenExp || tokenExp-float64(exp.Unix()) > 5 {
		t.Errorf("expirationTimestamp %v is not the token's exp %v", exp, c["exp"])
	}
}

func TestPluginExecCredential(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	for _, tc := range []struct {
		execInfo string // "" leaves KUBERNETES_EXEC_INFO unset
		want     string
	}{
		{execInfoV1, "client.authentication.k8s.io/v1"},
		{execInfoBeta1, "client.authentication.k8s.io/v1beta1"},
		{"", "client.authentication.k8s.io/v1beta1"},
	} {
		env := f.env(p.env()...)
		if tc.execInfo != "" {
			env = setEnv(env, "KUBERNETES_EXEC_INFO="+tc.execInfo)
		}
		// The kubeconfig of examples/ runs exactly these arguments.
		stdout, stderr, code := runAzexec(t, env, "", "token", "--resource", "aks", "--format", "exec-credential")
		if code != 0 {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		checkExecCredential(t, f, stdout, tc.want)
		noIssuedToken(t, f, "stderr", stderr)
	}
	for _, bad := range []string{"{", `{"apiVersion":"client.authentication.k8s.io/v1alpha1"}`} {
		stdout, stderr, code := runAzexec(t, setEnv(f.env(p.env()...), "KUBERNETES_EXEC_INFO="+bad), "", "token", "--resource", "aks", "--format", "exec-credential")
		if code != 2 || stdout != "" || !strings.Contains(stderr, "azexec: hint:") {
			t.Errorf("KUBERNETES_EXEC_INFO=%s: status %d, stdout %q; want 2, nothing, and a hint", bad, code, stdout)
		}
	}
}

func TestPluginTokenFailures(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	wrong := p
	wrong.secret = "e2e8Q~wrong" + randomHex(8)
	other := f.newSP()
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		hint string
	}{
		{"no identity", f.env(), []string{"token", "arm"}, 3, "configure one of"},
		{"wrong secret", f.env(wrong.env()...), []string{"token", "--format", "json", "arm"}, 3, "client secret is wrong"},
		{"tenant not allowed", f.env(p.env()...), []string{"token", "--tenant", other.tenant, "arm"}, 4, "AZURE_ADDITIONALLY_ALLOWED_TENANTS=" + other.tenant},
		{"unknown tenant", f.env(append(p.env(), "AZURE_ADDITIONALLY_ALLOWED_TENANTS=*")...),
			[]string{"token", "--format", "exec-credential", "--tenant", newUUID(), "--resource", "aks"}, 4, "tenant was not found"},
		{"no scope", f.env(p.env()...), []string{"token"}, 2, "--scope S"},
		{"two scopes", f.env(p.env()...), []string{"token", "--scope", "arm", "graph"}, 2, "azexec token"},
		{"unknown alias", f.env(p.env()...), []string{"token", "kubernetes"}, 2, "use an alias"},
		{"unknown format", f.env(p.env()...), []string{"token", "--format", "yaml", "arm"}, 2, "exec-credential"},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runAzexec(t, tc.env, "", tc.args...)
			if code != tc.code {
				t.Errorf("status %d, want %d", code, tc.code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", clip(stdout))
			}
			requireLine(t, stderr, "azexec: error: ")
			if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, tc.hint) {
				t.Errorf("hint %q, want it to mention %q", hint, tc.hint)
			}
			noIssuedToken(t, f, "stderr", stderr)
		})
	}
}

// gitEnv is the environment git runs in: the fake's, plus git isolated
// from the machine's and the user's configuration, never prompting.
func gitEnv(env []string) []string {
	return setEnv(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
		"GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C")
}

// fallbackHelper is the helper after azexec: it answers only when azexec
// stayed silent, so its password proves git moved on.
const fallbackHelper = "!f() { test \"$1\" = get && printf 'username=next\\npassword=fallback\\n'; }; f"

// gitFill runs `git credential fill` for url with the given helpers (after
// clearing any configured) and returns git's answer as a map.
func gitFill(t *testing.T, f *fake, env []string, url string, helpers ...string) (map[string]string, string, int) {
	t.Helper()
	args := []string{"-c", "credential.helper="}
	for _, h := range helpers {
		args = append(args, "-c", "credential.helper="+h)
	}
	return gitFillArgs(t, gitEnv(env), url, args...)
}

// gitFillArgs runs `git ARGS... credential fill` for url in exactly env.
func gitFillArgs(t *testing.T, env []string, url string, args ...string) (map[string]string, string, int) {
	t.Helper()
	gitBin, err := testenv.Lookup("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	args = append(slices.Clone(args), "credential", "fill")
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gitBin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader("url=" + url + "\n\n")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	t.Logf("git credential fill %s: status %d\nstderr:\n%s", url, cmd.ProcessState.ExitCode(), clip(errOut.String()))
	answer := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			answer[k] = v
		}
	}
	return answer, errOut.String(), cmd.ProcessState.ExitCode()
}

// linkPlugin makes the binary reachable under name on the test's PATH, as
// a user installs a plugin.
func (f *fake) linkPlugin(t *testing.T, name string) {
	t.Helper()
	if err := os.Symlink(azexecBin, filepath.Join(f.binDir, name)); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}
}

func TestPluginGitCredentialFill(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.linkPlugin(t, "git-credential-azexec")
	p := f.newSP()
	env := f.env(p.env()...)

	// Both ways of configuring the helper: by name (git runs
	// git-credential-azexec, found on PATH) and as a shell command.
	for _, helper := range []string{"azexec", "!'" + azexecBin + "' git-credential"} {
		for _, url := range []string{"https://dev.azure.com/org/project/_git/repo", "https://contoso.visualstudio.com/project/_git/repo"} {
			answer, stderr, code := gitFill(t, f, env, url, helper, fallbackHelper)
			if code != 0 {
				t.Fatalf("helper %q, %s: status %d", helper, url, code)
			}
			requireIssued(t, f, answer["password"], devOpsApp)
			if answer["username"] != p.client {
				t.Errorf("username %q, want the client id %q", answer["username"], p.client)
			}
			noIssuedToken(t, f, "git's stderr", stderr)
		}
	}

	// A user name in the URL is kept.
	answer, _, _ := gitFill(t, f, env, "https://org@dev.azure.com/org/project/_git/repo", "azexec", fallbackHelper)
	if answer["username"] != "org" || answer["password"] == "fallback" {
		t.Errorf("with a user in the URL: %v", answer)
	}

	// Other hosts, and plain http, get nothing: git asks the next helper,
	// and azexec asked Azure for nothing.
	f.Reset()
	for _, url := range []string{"https://github.com/org/repo", "http://dev.azure.com/org/project", "https://dev.azure.com.evil.example/x", "https://dev.azure.com:8443/x"} {
		answer, stderr, code := gitFill(t, f, env, url, "azexec", fallbackHelper)
		if code != 0 || answer["password"] != "fallback" || answer["username"] != "next" {
			t.Errorf("%s: status %d, answer %v; want the next helper's", url, code, answer)
		}
		if strings.Contains(stderr, "azexec") {
			t.Errorf("%s: azexec printed:\n%s", url, stderr)
		}
	}
	if n := f.CountRequests(""); n != 0 {
		t.Errorf("%d requests to Azure for hosts that are not Azure DevOps", n)
	}
}

// TestPluginGitCredentialProtocol speaks to the helper directly, as git
// does, to see what git 2.39 would not show: password_expiry_utc, the
// silent store and erase, and an identity failure.
func TestPluginGitCredentialProtocol(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.linkPlugin(t, "git-credential-azexec")
	p := f.newSP()
	env := f.env(p.env()...)
	helper := filepath.Join(f.binDir, "git-credential-azexec")

	run := func(env []string, stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(helper, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		_ = cmd.Run()
		return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
	}
	before := time.Now()
	stdout, stderr, code := run(env, "capability[]=authtype\nprotocol=https\nhost=dev.azure.com\npath=org/project/_git/repo\n\n", "get")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "username=") || !strings.HasPrefix(lines[1], "password=") ||
		!strings.HasPrefix(lines[2], "password_expiry_utc=") {
		t.Fatalf("get: status %d, stdout %d lines (%v)\n%s", code, len(lines), strings.Join(keysOf(lines), ","), stderr)
	}
	requireIssued(t, f, strings.TrimPrefix(lines[1], "password="), devOpsApp)
	var expiry int64
	if _, err := fmt.Sscan(strings.TrimPrefix(lines[2], "password_expiry_utc="), &expiry); err != nil ||
		time.Unix(expiry, 0).Before(before.Add(fakeazure.DefaultTokenTTL-time.Minute)) {
		t.Errorf("password_expiry_utc %q", lines[2])
	}

	for _, op := range []string{"store", "erase", "some-future-operation"} {
		stdout, stderr, code := run(env, "protocol=https\nhost=dev.azure.com\nusername=u\npassword=p\n\n", op)
		if code != 0 || stdout != "" || stderr != "" {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want silence", op, code, stdout, stderr)
		}
	}

	// No identity: nothing on stdout (git moves on), the reason on stderr.
	stdout, stderr, code = run(f.env(), "protocol=https\nhost=dev.azure.com\n\n", "get")
	if code != 3 || stdout != "" || !strings.Contains(stderr, "azexec: error: no azure identity found") {
		t.Errorf("no identity: status %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	// Garbage in: a usage error, nothing out.
	stdout, _, code = run(env, "protocol https\n\n", "get")
	if code != 2 || stdout != "" {
		t.Errorf("malformed input: status %d, stdout %q", code, stdout)
	}
	stdout, stderr, code = run(f.env(p.env()...), "", "--log-level", "trace", "get")
	if code != 0 || stdout != "" {
		t.Errorf("empty input: status %d, stdout %q", code, stdout)
	}
	noIssuedToken(t, f, "stderr", stderr)
}

func keysOf(lines []string) []string {
	var keys []string
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "=")
		keys = append(keys, k)
	}
	return keys
}

// TestPluginGitConfigExample uses examples/gitconfig as the user's global
// configuration, unchanged: what the README tells users to copy works.
func TestPluginGitConfigExample(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.linkPlugin(t, "azexec")
	p := f.newSP()
	example, err := filepath.Abs("../examples/gitconfig")
	if err != nil {
		t.Fatal(err)
	}
	env := setEnv(gitEnv(f.env(p.env()...)), "GIT_CONFIG_GLOBAL="+example)
	for _, url := range []string{"https://dev.azure.com/org/project/_git/repo", "https://contoso.visualstudio.com/project/_git/repo"} {
		answer, _, code := gitFillArgs(t, env, url, "-c", "credential.helper="+fallbackHelper)
		if code != 0 {
			t.Fatalf("%s: status %d", url, code)
		}
		requireIssued(t, f, answer["password"], devOpsApp)
	}
	f.Reset()
	answer, _, _ := gitFillArgs(t, env, "https://github.com/org/repo", "-c", "credential.helper="+fallbackHelper)
	if answer["password"] != "fallback" || f.CountRequests("") != 0 {
		t.Errorf("another host: answer %v, %d requests to Azure; want the fallback helper's and none", answer, f.CountRequests(""))
	}
}

// TestPluginKubeconfigExample runs the exec block of
// examples/kubeconfig-aks.yaml as kubectl would: its command with its
// args, and KUBERNETES_EXEC_INFO in its apiVersion.
func TestPluginKubeconfigExample(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	b, err := os.ReadFile("../examples/kubeconfig-aks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A YAML parser for three keys would be a dependency; the example's
	// layout is fixed, so read the exec block line by line.
	var apiVersion, command string
	var args []string
	inExec, inArgs := false, false
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "exec:":
			inExec = true
		case !inExec:
		case strings.HasPrefix(trimmed, "apiVersion: "):
			apiVersion = strings.TrimPrefix(trimmed, "apiVersion: ")
		case strings.HasPrefix(trimmed, "command: "):
			command = strings.TrimPrefix(trimmed, "command: ")
		case trimmed == "args:":
			inArgs = true
		case inArgs && strings.HasPrefix(trimmed, "- "):
			args = append(args, strings.TrimPrefix(trimmed, "- "))
		default:
			inArgs = false
		}
	}
	if command != "azexec" || apiVersion != "client.authentication.k8s.io/v1" || len(args) == 0 {
		t.Fatalf("exec block not understood: command %q apiVersion %q args %q", command, apiVersion, args)
	}
	info := `{"kind":"ExecCredential","apiVersion":"` + apiVersion + `","spec":{"interactive":false}}`
	stdout, stderr, code := runAzexec(t, setEnv(f.env(p.env()...), "KUBERNETES_EXEC_INFO="+info), "", args...)
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	checkExecCredential(t, f, stdout, apiVersion)
}

func TestPluginGitCredentialNoIdentity(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.linkPlugin(t, "git-credential-azexec")
	answer, stderr, code := gitFill(t, f, f.env(), "https://dev.azure.com/org/project", "azexec", fallbackHelper)
	if code != 0 || answer["password"] != "fallback" {
		t.Errorf("status %d, answer %v; want git to move on to the next helper", code, answer)
	}
	requireLine(t, stderr, "azexec: error: no azure identity found")
	requireLine(t, stderr, "azexec: hint: ")
}

// dockerCredentials is docker-credential-helpers' credentials.Credentials.
type dockerCredentials struct {
	ServerURL string
	Username  string
	Secret    string
}

// dockerHelper runs `docker-credential-azexec VERB` as docker's client
// package does (client.Get and friends): the input on stdin, stdout read,
// stderr the user's, and a failure's message taken from stdout.
func dockerHelper(t *testing.T, f *fake, env []string, verb, input string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(f.binDir, "docker-credential-azexec"), verb)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	t.Logf("docker-credential-azexec %s: status %d\nstderr:\n%s", verb, cmd.ProcessState.ExitCode(), clip(errOut.String()))
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// dockerGet is client.Get: credentials, or the helper's message as an error.
func dockerGet(t *testing.T, f *fake, env []string, serverURL string) (*dockerCredentials, error) {
	t.Helper()
	stdout, stderr, code := dockerHelper(t, f, env, "get", serverURL)
	noIssuedToken(t, f, "stderr", stderr)
	if code != 0 {
		return nil, errors.New(strings.TrimSpace(stdout))
	}
	c := &dockerCredentials{ServerURL: serverURL}
	strictDecode(t, stdout, c)
	return c, nil
}

const dockerNotFound = "credentials not found in native keychain"

func TestPluginDockerCredential(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.linkPlugin(t, "docker-credential-azexec")
	p := f.newSP()
	host, err := f.AddRegistry("azexecreg")
	if err != nil {
		t.Fatal(err)
	}
	// The registry accepts only its own audience, as Azure Policy
	// recommends: azexec must not send a Resource Manager token.
	if err := f.DisableARMAudience("azexecreg"); err != nil {
		t.Fatal(err)
	}
	env := f.env(append(p.env(), "AZEXEC_ACR_HOSTS=registry.contoso.example,"+host)...)

	for _, serverURL := range []string{host, "https://" + host, "https://" + host + "/v2/"} {
		c, err := dockerGet(t, f, env, serverURL)
		if err != nil {
			t.Fatalf("get %s: %v", serverURL, err)
		}
		if c.ServerURL != serverURL || c.Username != acrUser {
			t.Errorf("get %s: ServerURL %q Username %q", serverURL, c.ServerURL, c.Username)
		}
		refresh := f.RegistryTokens("azexecreg")
		if len(refresh) == 0 || c.Secret != refresh[len(refresh)-1] {
			t.Fatalf("get %s: the Secret is not the refresh token the registry issued", serverURL)
		}
		if aud := tokenClaims(t, c.Secret)["aud"]; aud != host {
			t.Errorf("refresh token for %v, want %s", aud, host)
		}
	}

	// Not an Azure registry: the protocol's "not found", and no request.
	f.Reset()
	for _, serverURL := range []string{"https://index.docker.io/v1/", "ghcr.io", "myreg.azurecr.io.evil.example", "127.0.0.1:1"} {
		stdout, stderr, code := dockerHelper(t, f, env, "get", serverURL)
		if code != 1 || stdout != dockerNotFound+"\n" || stderr != "" {
			t.Errorf("get %s: status %d, stdout %q, stderr %q; want 1 and %q", serverURL, code, stdout, stderr, dockerNotFound)
		}
	}
	// Without AZEXEC_ACR_HOSTS the loopback registry is not Azure's either.
	if _, err := dockerGet(t, f, f.env(p.env()...), host); err == nil || err.Error() != dockerNotFound {
		t.Errorf("loopback registry not listed: %v, want %q", err, dockerNotFound)
	}
	if n := f.CountRequests(""); n != 0 {
		t.Errorf("%d requests to Azure for registries that are not Azure's", n)
	}

	stdout, _, code := dockerHelper(t, f, env, "get", "\n")
	if code != 1 || stdout != "no credentials server URL\n" {
		t.Errorf("get with no server URL: status %d, stdout %q", code, stdout)
	}
	stdout, _, code = dockerHelper(t, f, env, "list", "unused")
	var list map[string]string
	if code != 0 || json.Unmarshal([]byte(stdout), &list) != nil || len(list) != 0 {
		t.Errorf("list: status %d, stdout %q; want an empty object", code, stdout)
	}
	creds, _ := json.Marshal(dockerCredentials{ServerURL: host, Username: "u", Secret: "s3cret"})
	for _, verb := range []string{"store", "erase"} {
		input := host
		if verb == "store" {
			input = string(creds)
		}
		stdout, stderr, code := dockerHelper(t, f, env, verb, input)
		if code != 0 || stdout != "" || stderr != "" {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want silent success", verb, code, stdout, stderr)
		}
	}
	if stdout, _, code := dockerHelper(t, f, env, "version", ""); code != 0 || !strings.HasPrefix(stdout, "docker-credential-azexec ") {
		t.Errorf("version: status %d, %q", code, stdout)
	}
	if stdout, _, code := dockerHelper(t, f, env, "frobnicate", ""); code == 0 || stdout == "" {
		t.Errorf("unknown verb: status %d, stdout %q; want a failure with its message on stdout", code, stdout)
	}
}

func TestPluginDockerCredentialFailures(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.linkPlugin(t, "docker-credential-azexec")
	p := f.newSP()
	host, err := f.AddRegistry("deniedreg")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DenyRegistry("deniedreg", p.objectID()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  []string
		code int
		hint string
	}{
		{"registry refuses", f.env(append(p.env(), "AZEXEC_ACR_HOSTS="+host)...), 4, "AcrPull"},
		{"no identity", f.env("AZEXEC_ACR_HOSTS=" + host), 3, "configure one of"},
	}
	for _, tc := range cases {
		stdout, stderr, code := dockerHelper(t, f, tc.env, "get", host)
		if code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.code)
		}
		// Docker shows the helper's stdout in its error message; the
		// details are on stderr, which docker passes through.
		if !strings.HasPrefix(stdout, "azexec: error: ") || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%s: stdout %q, want one error line", tc.name, stdout)
		}
		if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, tc.hint) {
			t.Errorf("%s: hint %q, want it to mention %q", tc.name, hint, tc.hint)
		}
		noIssuedToken(t, f, "output", stdout+stderr)
	}
}

// TestPluginsLogNoToken runs every plugin at trace level, text and JSON,
// and searches stderr for every token of the run: the one each plugin
// prints belongs on stdout alone.
func TestPluginsLogNoToken(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.linkPlugin(t, "docker-credential-azexec")
	f.linkPlugin(t, "git-credential-azexec")
	p := f.newSP()
	host, err := f.AddRegistry("tracereg")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		env := f.env(append(p.env(), "AZEXEC_LOG_LEVEL=trace", "AZEXEC_LOG_FORMAT="+format, "AZEXEC_ACR_HOSTS="+host, "KUBERNETES_EXEC_INFO="+execInfoV1)...)
		var stderrs []string
		for _, args := range [][]string{{"token", "arm"}, {"token", "--format", "json", "keyvault"}, {"token", "--format", "exec-credential", "aks"}} {
			_, stderr, code := runAzexec(t, env, "", args...)
			if code != 0 {
				t.Fatalf("%q: status %d", args, code)
			}
			stderrs = append(stderrs, stderr)
		}
		_, stderr, code := dockerHelper(t, f, env, "get", host)
		if code != 0 {
			t.Fatalf("docker get: status %d", code)
		}
		stderrs = append(stderrs, stderr)
		_, stderr, code = runAzexec(t, env, "protocol=https\nhost=dev.azure.com\n\n", "git-credential", "get")
		if code != 0 {
			t.Fatalf("git get: status %d", code)
		}
		stderrs = append(stderrs, stderr)
		all := strings.Join(stderrs, "\n")
		if !strings.Contains(all, "/oauth2/exchange") {
			t.Errorf("%s: the SDK's trace of the exchange is missing: the search proves nothing", format)
		}
		noIssuedToken(t, f, format+" trace log", all)
	}
}

// TestPluginDockerConfigExample checks that examples/docker-config.json is
// docker's config.json shape and names azexec as the helper of an Azure
// registry azexec answers for.
func TestPluginDockerConfigExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../examples/docker-config.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	strictDecode(t, string(b), &cfg)
	if len(cfg.CredHelpers) == 0 {
		t.Fatal("no credHelpers")
	}
	for reg, helper := range cfg.CredHelpers {
		if helper != "azexec" || !strings.HasSuffix(reg, ".azurecr.io") {
			t.Errorf("credHelpers %q: %q", reg, helper)
		}
	}
}
