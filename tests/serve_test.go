package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
)

// azurePython is Debian's /usr/bin/python3 with python3-azure, whose
// azure-identity is the Python client under test. Another python3 on PATH
// (a version manager's) usually lacks it.
func azurePython(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import azure.identity").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s cannot import azure.identity (%v): .ci/run must install python3-azure", python, err)
		}
		t.Skipf("%s cannot import azure.identity (apt-get install python3-azure): %v", python, err)
	}
	return python
}

// serveClients is COMMAND under azexec serve: azure-identity's
// ManagedIdentityCredential (which picks IDENTITY_ENDPOINT's App Service
// protocol), then the two forms of clients that know only MSI_ENDPOINT,
// then requests to MSI_ENDPOINT's host without its secret path. It prints
// one line per client: the protocol, the HTTP status and the token's appid.
const serveClients = `
import base64, json, os, sys, urllib.error, urllib.parse, urllib.request

def appid(tok):
    p = tok.split(".")[1]
    p += "=" * (-len(p) % 4)
    return json.loads(base64.urlsafe_b64decode(p)).get("appid")

def call(url, data=None, headers={}):
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req) as r:
            body = json.load(r)
            return r.status, body
    except urllib.error.HTTPError as e:
        return e.code, {}

from azure.identity import ManagedIdentityCredential
tok = ManagedIdentityCredential().get_token("https://vault.azure.net/.default")
print("sdk", appid(tok.token), tok.expires_on > 0)

# Only MSI_ENDPOINT from here on, as old az CLI versions and msrestazure see it.
ep = os.environ["MSI_ENDPOINT"]
form = urllib.parse.urlencode({"resource": "https://management.core.windows.net/"}).encode()
status, body = call(ep, form, {"Metadata": "true", "Content-Type": "application/x-www-form-urlencoded"})
print("cloudshell", status, appid(body["access_token"]), body["token_type"], body["resource"], int(body["expires_on"]) > 0)
status, body = call(ep + "/?resource=https://vault.azure.net&api-version=2017-09-01", None, {"secret": os.environ["MSI_SECRET"]})
print("legacy", status, appid(body["access_token"]), body["token_type"])

# MSI_ENDPOINT's host without the secret path gets nothing.
u = urllib.parse.urlsplit(ep)
origin = u.scheme + "://" + u.netloc
for path in ["/", "/msi/", "/msi/token", u.path[:-1], u.path + "x", u.path.upper()]:
    status, body = call(origin + path, form, {"Metadata": "true", "Content-Type": "application/x-www-form-urlencoded"})
    print("nosecret", status, "access_token" in body)
status, body = call(ep + "/?resource=https://vault.azure.net&api-version=2017-09-01")
print("legacy-nosecret", status, "access_token" in body)
status, body = call(ep, form, {"Content-Type": "application/x-www-form-urlencoded"})
print("cloudshell-nometadata", status, "access_token" in body)
`

// TestServeClients: under azexec serve -- COMMAND, azure-identity's
// ManagedIdentityCredential and MSI_ENDPOINT-only clients all get tokens
// for the served identity, for a service principal and for an az login;
// a request to MSI_ENDPOINT's host without the secret path gets nothing,
// and COMMAND's environment holds no client secret.
func TestServeClients(t *testing.T) {
	t.Parallel()
	python := azurePython(t)
	f := startFake(t)
	p := f.newSP()
	az := f.writeFakeAz(t, "")
	cases := []struct {
		name, client string
		env          []string
		args         []string
	}{
		{"service principal", p.client, f.env(p.env()...), nil},
		{"az login", az.client, f.env(), []string{"--identity", "cli"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dump := f.path("env-" + strings.ReplaceAll(tc.name, " ", "-"))
			args := append(append([]string{"serve"}, tc.args...), "--", "sh", "-c", `env > "$0"; exec "$@"`, dump, python, "-c", serveClients)
			out, stderr, code := runAzexec(t, tc.env, "", args...)
			if code != 0 {
				t.Fatalf("status %d\n%s%s", code, out, stderr)
			}
			want := []string{
				"sdk " + tc.client + " True",
				"cloudshell 200 " + tc.client + " Bearer https://management.core.windows.net/ True",
				"legacy 200 " + tc.client + " Bearer",
				"nosecret 404 False", "nosecret 404 False", "nosecret 401 False", "nosecret 404 False", "nosecret 404 False", "nosecret 404 False",
				"legacy-nosecret 401 False",
				"cloudshell-nometadata 400 False",
			}
			if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("clients printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			childEnv, _ := os.ReadFile(dump)
			for _, name := range []string{"IDENTITY_ENDPOINT=http://127.0.0.1:", "IDENTITY_HEADER=", "MSI_ENDPOINT=http://127.0.0.1:", "MSI_SECRET="} {
				if !strings.Contains(string(childEnv), name) {
					t.Errorf("COMMAND's environment lacks %s", name)
				}
			}
			for _, bad := range []string{"AZURE_CLIENT_SECRET=", p.secret} {
				if strings.Contains(string(childEnv), bad) {
					t.Errorf("COMMAND's environment holds %q", strings.TrimSuffix(bad, "="))
				}
			}
			checkNoSecrets(t, f, stderr, []string{p.secret})
		})
	}
}

// serveProbe asks IDENTITY_ENDPOINT for argv[1] with the header argv[2]
// (own, wrong or none) and the extra query argv[3], with the Host header
// argv[4] if given, and prints the status.
const serveProbe = `
import http.client, os, sys, urllib.parse
u = urllib.parse.urlsplit(os.environ["IDENTITY_ENDPOINT"])
hdr = {"wrong": "0" * 64, "own": os.environ["IDENTITY_HEADER"]}.get(sys.argv[2])
c = http.client.HTTPConnection(u.hostname, u.port)
path = u.path + "?api-version=2019-08-01&resource=" + sys.argv[1] + sys.argv[3]
headers = {}
if hdr:
    headers["X-IDENTITY-HEADER"] = hdr
if len(sys.argv) > 4:
    c.putrequest("GET", path, skip_host=True)
    c.putheader("Host", sys.argv[4])
    for k, v in headers.items():
        c.putheader(k, v)
    c.endheaders()
else:
    c.request("GET", path, headers=headers)
r = c.getresponse()
body = r.read()
print("status", r.status, b"access_token" in body)
`

// TestServeRefusals performs each refusal of the issue against azexec
// serve: no header and a wrong one get 401, a scope outside --allow-scope
// 403, another identity's client_id, object_id or mi_res_id the 400 a
// managed identity endpoint answers, a rebound Host header 421; and
// --listen on a wildcard address exits 2 before any network request.
func TestServeRefusals(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	other := newUUID()
	cases := []struct{ resource, header, query, host, want string }{
		{"https://vault.azure.net", "", "", "", "status 401 False"},
		{"https://vault.azure.net", "wrong", "", "", "status 401 False"},
		{"https://management.azure.com/", "own", "", "", "status 403 False"},
		{"https://vault.azure.net", "own", "&client_id=" + other, "", "status 400 False"},
		{"https://vault.azure.net", "own", "&object_id=" + other, "", "status 400 False"},
		{"https://vault.azure.net", "own", "&mi_res_id=/subscriptions/x/resourcegroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z", "", "status 400 False"},
		{"https://vault.azure.net", "own", "", "attacker.example:80", "status 421 False"},
		{"https://vault.azure.net", "own", "&client_id=" + p.client, "", "status 200 True"},
		{"https://vault.azure.net", "own", "", "localhost", "status 200 True"},
	}
	for _, tc := range cases {
		args := []string{"serve", "--allow-scope", "keyvault", "--", realTool(t, "python3"), "-c", serveProbe, tc.resource, tc.header, tc.query}
		if tc.host != "" {
			args = append(args, tc.host)
		}
		out, stderr, code := runAzexec(t, f.env(p.env()...), "", args...)
		if code != 0 || strings.TrimSpace(out) != tc.want {
			t.Errorf("%s, header %q, %q, host %q: %q, want %q (status %d)\n%s", tc.resource, tc.header, tc.query, tc.host, out, tc.want, code, stderr)
		}
	}
	f.Reset()
	for _, listen := range []string{"0.0.0.0:8080", "0.0.0.0", "[::]:8080", "::", ":8080"} {
		out, stderr, code := runAzexec(t, f.env(p.env()...), "", "serve", "--listen", listen, "--", "true")
		if code != 2 || !strings.Contains(stderr, "--listen") || !strings.Contains(stderr, "hint:") {
			t.Errorf("--listen %s: status %d, want 2 with a hint\n%s%s", listen, code, out, stderr)
		}
	}
	if n := f.CountRequests(""); n != 0 {
		t.Errorf("a refused --listen still made %d requests", n)
	}
}

// serveRun is a background azexec serve whose --print json line was read.
type serveRun struct {
	cmd    *exec.Cmd
	vars   map[string]string
	stderr *lockedWriter
	done   chan struct{}
}

// startServe starts azexec serve --print json with args and reads the
// variables it prints.
func startServe(t *testing.T, env []string, args ...string) *serveRun {
	t.Helper()
	cmd := exec.Command(azexecBin, append([]string{"serve", "--print", "json"}, args...)...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &serveRun{cmd: cmd, stderr: &lockedWriter{}, done: make(chan struct{})}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-r.done })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("azexec serve printed no variables: %v\n%s", err, r.stderr.String())
	}
	if err := json.Unmarshal([]byte(line), &r.vars); err != nil {
		t.Fatalf("--print json: %v", err)
	}
	return r
}

// lockedWriter lets a test read stderr while the process writes it.
type lockedWriter struct {
	mu sync.Mutex
	w  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// getToken asks the App Service endpoint for resource.
func getToken(endpoint, header, resource string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, endpoint+"?api-version=2019-08-01&resource="+url.QueryEscape(resource), nil)
	req.Header.Set("X-IDENTITY-HEADER", header)
	resp, err := (&http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestServeStopsCleanly: azexec serve without COMMAND prints where it
// listens (never the secret, which only --print writes, on stdout), serves
// until SIGTERM or SIGINT, exits 0, and then nothing answers on its port.
// With COMMAND, the port closes when COMMAND exits.
func TestServeStopsCleanly(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		r := startServe(t, f.env(append(p.env(), "AZEXEC_LOG_LEVEL=info")...))
		ep, hdr := r.vars["IDENTITY_ENDPOINT"], r.vars["IDENTITY_HEADER"]
		if status, err := getToken(ep, hdr, "https://vault.azure.net"); err != nil || status != 200 {
			t.Fatalf("token request: %d %v\n%s", status, err, r.stderr.String())
		}
		// The audit line is written when the request is done.
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(r.stderr.String(), "token issued") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		r.cmd.Process.Signal(sig)
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: azexec serve did not stop", sig)
		}
		if code := r.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s: exit status %d, want 0", sig, code)
		}
		u, _ := url.Parse(ep)
		if c, err := net.DialTimeout("tcp", u.Host, 2*time.Second); err == nil {
			c.Close()
			t.Errorf("%s: something still answers on %s after serve stopped", sig, u.Host)
		}
		stderr := r.stderr.String()
		t.Logf("%s: serve's stderr:\n%s", sig, stderr)
		if !strings.Contains(stderr, "serving tokens for env") || !strings.Contains(stderr, ep) {
			t.Errorf("stderr does not say where azexec listens:\n%s", stderr)
		}
		for _, line := range strings.Split(stderr, "\n") {
			if strings.Contains(line, "token issued") && !(strings.Contains(line, "caller=127.0.0.1:") &&
				strings.Contains(line, "resource=https://vault.azure.net") && strings.Contains(line, "status=200") && strings.Contains(line, "cache=")) {
				t.Errorf("audit line lacks caller, resource, status or cache: %s", line)
			}
		}
		if !strings.Contains(stderr, "token issued") {
			t.Errorf("no audit line at info level:\n%s", stderr)
		}
		checkNoSecrets(t, f, stderr, []string{p.secret, hdr, strings.TrimPrefix(r.vars["MSI_ENDPOINT"], "http://"+u.Host+"/msi/")})
	}

	// With COMMAND: the port is closed once COMMAND has exited, even
	// though a process COMMAND left behind lives on (the listener must
	// not leak into it), and azexec exits with COMMAND's status.
	portFile := f.path("endpoint")
	out, stderr, code := runAzexec(t, f.env(p.env()...), "", "serve", "--", "sh", "-c",
		`echo "$IDENTITY_ENDPOINT" > "$0"; sleep 30 </dev/null >/dev/null 2>&1 & exit 7`, portFile)
	if code != 7 {
		t.Fatalf("status %d, want COMMAND's 7\n%s%s", code, out, stderr)
	}
	data, _ := os.ReadFile(portFile)
	u, _ := url.Parse(strings.TrimSpace(string(data)))
	if c, err := net.DialTimeout("tcp", u.Host, 2*time.Second); err == nil {
		c.Close()
		t.Errorf("something still answers on %s after serve -- COMMAND ended", u.Host)
	}
	if strings.Contains(stderr+out, "IDENTITY_HEADER=") {
		t.Error("serve -- COMMAND printed the header without --print")
	}
}

// TestServeBurstCostsOneTokenRequest: 64 clients asking at once for a
// scope not yet cached cost one upstream token request.
func TestServeBurstCostsOneTokenRequest(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	r := startServe(t, f.env(p.env()...))
	// The burst arrives while the first request is upstream.
	f.AddFault(fakeazure.Fault{Kind: fakeazure.KindToken, Latency: 300 * time.Millisecond})
	before := f.CountRequests(fakeazure.KindToken)
	ep, hdr := r.vars["IDENTITY_ENDPOINT"], r.vars["IDENTITY_HEADER"]
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if status, err := getToken(ep, hdr, "https://storage.azure.com"); err != nil || status != 200 {
				errs <- fmt.Errorf("status %d, %v", status, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.CountRequests(fakeazure.KindToken) - before; n != 1 {
		t.Errorf("a burst of 64 cost %d upstream token requests, want 1", n)
	}
}

// TestServeReachesManagedSourceByName: inside a container, azexec's
// managed source finds the host's endpoint by a name, not 127.0.0.1. Here
// the name is localhost (--advertise localhost): an azexec run by COMMAND
// resolves the managed identity through IDENTITY_ENDPOINT=http://localhost:PORT
// and the Go SDK's managed identity credential accepts it.
func TestServeReachesManagedSourceByName(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	out, stderr, code := runAzexec(t, f.env(p.env()...), "", "serve", "--advertise", "localhost", "--",
		"sh", "-c", `case "$IDENTITY_ENDPOINT" in http://localhost:*) ;; *) echo "endpoint $IDENTITY_ENDPOINT" >&2; exit 9;; esac; exec "$0" --identity managed whoami --json`, azexecBin)
	if code != 0 {
		t.Fatalf("status %d\n%s%s", code, out, stderr)
	}
	var w whoamiJSON
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		t.Fatalf("whoami: %v\n%s", err, out)
	}
	if w.Source != "managed" || !strings.Contains(w.Kind, "App Service") || w.ObjectID != p.objectID() {
		t.Errorf("inner azexec resolved %+v, want the served identity through the App Service protocol", w)
	}
}

// TestServeFlagErrors: serve's flag mistakes are usage errors, found
// before any network request.
func TestServeFlagErrors(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	for _, args := range [][]string{
		{"serve", "--print", "yaml"},
		{"serve", "--listen", "localhost"},
		{"serve", "--listen", "127.0.0.1:80", "--port", "81"},
		{"serve", "--port", "70000"},
		{"serve", "--advertise", "http://host.docker.internal"},
		{"serve", "--inject", "env", "--", "true"},
		{"serve", "--token", "T=arm"},
		{"serve", "--"},
	} {
		_, stderr, code := runAzexec(t, f.env(p.env()...), "", args...)
		if code != 2 || !strings.Contains(stderr, "hint:") {
			t.Errorf("%q: status %d, want 2 with a hint\n%s", args, code, stderr)
		}
	}
	if n := f.CountRequests(""); n != 0 {
		t.Errorf("flag errors still made %d requests", n)
	}
}
