package tests

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
)

// homeSP registers a service principal in the fake's own tenant, the one
// its vaults challenge for.
func (f *fake) homeSP() sp {
	p := sp{tenant: f.Tenant(), client: newUUID(), secret: "e2e8Q~" + randomHex(20)}
	f.AddServicePrincipal(p.tenant, p.client, p.secret)
	return p
}

// interopChildren are real Azure SDK programs run as COMMAND. Each prints
// "read NAME: N characters, sha256 HEX".
func interopChildren(t *testing.T) map[string][]string {
	t.Helper()
	children := map[string][]string{}
	gochild := filepath.Join(t.TempDir(), "gochild")
	build := exec.Command("go", "build", "-o", gochild, "./tests/interop/gochild")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Go SDK child: %v\n%s", err, out)
	}
	children["go"] = []string{gochild}
	script, _ := filepath.Abs("interop/node/readsecret.mjs")
	if _, err := os.Stat("interop/node/node_modules/@azure/identity"); err == nil {
		children["node"] = []string{realTool(t, "node"), script}
	} else if os.Getenv("CI") != "" {
		t.Fatal("tests/interop/node/node_modules is missing: .ci/run must run npm ci there")
	} else {
		t.Log("skipping the Node.js child: run (cd tests/interop/node && npm ci) first")
	}
	return children
}

// TestEndpointServesRealSDKs: under --inject endpoint, a child using an
// Azure SDK's DefaultAzureCredential reads a Key Vault secret through
// azexec's identity endpoint, and its environment holds no client secret.
func TestEndpointServesRealSDKs(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	vault := "vault" + randomHex(4)
	vaultURL, err := f.AddVault(vault)
	if err != nil {
		t.Fatal(err)
	}
	value := "-----BEGIN KEY-----\nline two ✓\n"
	if err := f.SetSecret(vault, "db-password", "", value); err != nil {
		t.Fatal(err)
	}
	// Lengths in each language's own unit: bytes in Go, UTF-16 code units
	// (here one per rune) in JavaScript.
	length := map[string]int{"go": len(value), "node": len([]rune(value))}
	for lang, argv := range interopChildren(t) {
		t.Run(lang, func(t *testing.T) {
			env := f.env(append(p.env(), "NODE_EXTRA_CA_CERTS="+f.CAFile, "AZURE_FEDERATED_TOKEN_FILE=/nonexistent")...)
			want := fmt.Sprintf("read db-password: %d characters, sha256 %x", length[lang], sha256.Sum256([]byte(value)))
			// The child also dumps its environment, to prove what it lacks.
			dump := filepath.Join(t.TempDir(), "env")
			args := append([]string{"--inject", "endpoint", "--", "sh", "-c", `env > "$0"; exec "$@"`, dump}, argv...)
			args = append(args, vaultURL, "db-password")
			out, stderr, code := runAzexec(t, env, "", args...)
			if code != 0 || !strings.Contains(out, want) {
				t.Fatalf("status %d, stdout %q, want %q\nstderr: %s", code, out, want, stderr)
			}
			childEnv, _ := os.ReadFile(dump)
			for _, bad := range []string{"AZURE_CLIENT_SECRET=", "AZURE_FEDERATED_TOKEN_FILE=", p.secret} {
				if strings.Contains(string(childEnv), bad) {
					t.Errorf("child environment holds %q", strings.TrimSuffix(bad, "="))
				}
			}
			if !strings.Contains(string(childEnv), "IDENTITY_ENDPOINT=http://127.0.0.1:") {
				t.Error("child has no IDENTITY_ENDPOINT on 127.0.0.1")
			}
			checkNoSecrets(t, f, out+stderr, []string{p.secret})
		})
	}
}

// endpointProbe is a child that asks the identity endpoint for one
// resource with a given header and prints the HTTP status.
const endpointProbe = `
import os, sys, urllib.request, urllib.error
hdr = {"wrong": "0" * 64, "own": os.environ["IDENTITY_HEADER"]}.get(sys.argv[2])
req = urllib.request.Request(os.environ["IDENTITY_ENDPOINT"] + "?api-version=2019-08-01&resource=" + sys.argv[1])
if hdr:
    req.add_header("X-IDENTITY-HEADER", hdr)
try:
    urllib.request.urlopen(req)
    print("status 200")
except urllib.error.HTTPError as e:
    print("status", e.code)
`

// TestEndpointRefusals: wrong or missing headers get 401; a resource
// outside --allow-scope gets 403, a variant of one inside it 400; one
// inside it is served.
func TestEndpointRefusals(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	cases := []struct{ resource, header, want string }{
		{"https://vault.azure.net", "", "status 401"},
		{"https://vault.azure.net", "wrong", "status 401"},
		{"https://management.azure.com/", "own", "status 403"},
		// The allow-list bypass: a trailing NBSP passed a trimmed check.
		{"https://vault.azure.net%C2%A0", "own", "status 400"},
		{"https://vault.azure.net", "own", "status 200"},
	}
	for _, tc := range cases {
		out, stderr, code := runAzexec(t, f.env(p.env()...), "", "--inject", "endpoint", "--allow-scope", "keyvault",
			"--", realTool(t, "python3"), "-c", endpointProbe, tc.resource, tc.header)
		if code != 0 || strings.TrimSpace(out) != tc.want {
			t.Errorf("%s with header %q: %q, want %q (status %d)\n%s", tc.resource, tc.header, out, tc.want, code, stderr)
		}
	}
}

// authFileReader is a child that reads AZURE_AUTH_LOCATION as the legacy
// SDKs do and prints its keys, where it lives, and the secret's length.
const authFileReader = `
import json, os
p = os.environ["AZURE_AUTH_LOCATION"]
d = json.load(open(p))
print("keys", ",".join(sorted(d)))
print("where", p, os.path.realpath(p) if not p.startswith("/dev/fd/") else os.readlink("/proc/self/fd/" + p.rsplit("/", 1)[1]))
print("secret", len(d["clientSecret"]), "subscription", d["subscriptionId"], "tenant", d["tenantId"] == os.environ.get("WANT_TENANT"))
print("env secret", "AZURE_CLIENT_SECRET" in os.environ)
`

// TestAuthFileMode: the child reads a complete auth file that exists only
// in memory, and no copy is left on disk, also when azexec is killed.
func TestAuthFileMode(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	sub := newUUID()
	for _, supervise := range []bool{false, true} {
		args := []string{"--inject", "auth-file", "--subscription", sub}
		if supervise {
			args = append(args, "--supervise")
		}
		env := f.env(append(p.env(), "WANT_TENANT="+p.tenant, "TMPDIR="+f.path("tmp"))...)
		os.MkdirAll(f.path("tmp"), 0o700)
		out, stderr, code := runAzexec(t, env, "", append(args, "--", realTool(t, "python3"), "-c", authFileReader)...)
		if code != 0 {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		for _, want := range []string{
			"keys activeDirectoryEndpointUrl,activeDirectoryGraphResourceId,clientId,clientSecret,galleryEndpointUrl,managementEndpointUrl,resourceManagerEndpointUrl,sqlManagementEndpointUrl,subscriptionId,tenantId",
			fmt.Sprintf("secret %d subscription %s tenant True", len(p.secret), sub),
			"env secret False",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("supervise=%v: child printed %q, want a line %q", supervise, out, want)
			}
		}
		if !strings.Contains(out, "where /dev/fd/") || !strings.Contains(out, "/memfd:") {
			t.Errorf("supervise=%v: auth file is not an in-memory file: %q", supervise, out)
		}
		checkNoSecrets(t, f, out+stderr, []string{p.secret})
	}
	scanForSecret(t, p.secret, f.dir, os.TempDir(), "/dev/shm")
}

// TestAuthFileSurvivesNothingAfterSIGKILL kills azexec with SIGKILL while
// the child holds the auth file, then looks for any copy on disk.
func TestAuthFileSurvivesNothingAfterSIGKILL(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	ready := f.path("ready")
	cmd := exec.Command(azexecBin, "--supervise", "--inject", "auth-file", "--",
		"sh", "-c", `cat "$AZURE_AUTH_LOCATION" > /dev/null && echo $$ > "$0" && exec sleep 30`, ready)
	cmd.Env = f.env(p.env()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	var child string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			child = strings.TrimSpace(string(b))
			break
		}
	}
	if child == "" {
		t.Fatal("child never read the auth file")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// The orphaned child still holds the memfd; the kernel frees it when
	// the child goes too. Either way nothing was ever on disk.
	scanForSecret(t, p.secret, f.dir, os.TempDir(), "/dev/shm", os.Getenv("XDG_RUNTIME_DIR"))
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// scanForSecret fails if any regular file under dirs contains secret.
func scanForSecret(t *testing.T, secret string, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > 1<<20 {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), secret) {
				t.Errorf("secret found on disk in %s", path)
			}
			return nil
		})
	}
}

// TestTokenVariable: --token PGPASSWORD=ossrdbms gives the child a token
// for that audience, and the token appears nowhere but in the child.
func TestTokenVariable(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	out, stderr, code := runAzexec(t, f.env(p.env()...), "", "--token", "PGPASSWORD=ossrdbms", "--token", "ARM=https://management.azure.com/",
		"--", "sh", "-c", `echo "$PGPASSWORD" | cut -d. -f2; echo "$ARM" | cut -d. -f2`)
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	lines := strings.Fields(out)
	if len(lines) != 2 {
		t.Fatalf("child printed %q", out)
	}
	for i, wantAud := range []string{"https://ossrdbms-aad.database.windows.net", "https://management.azure.com"} {
		raw, err := base64.RawURLEncoding.DecodeString(lines[i])
		var claims struct {
			Aud string `json:"aud"`
			Oid string `json:"oid"`
		}
		if err != nil || json.Unmarshal(raw, &claims) != nil || strings.TrimSuffix(claims.Aud, "/") != wantAud || claims.Oid != p.objectID() {
			t.Errorf("token %d: claims %+v (%v), want aud %s", i, claims, err, wantAud)
		}
	}
	// One proof token (ARM) and one ossrdbms token: the ARM --token reuses
	// the proof token.
	if n := f.CountRequests(fakeazure.KindToken); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	_, stderr, code = runAzexec(t, f.env(p.env()...), "", "--token", "1BAD=arm", "--", "true")
	if code != 2 || !strings.Contains(stderr, `"1BAD=arm"`) {
		t.Errorf("bad --token: status %d\n%s", code, stderr)
	}
}

// TestInjectModeNeedsServicePrincipal: an identity azexec holds no
// credential for cannot be written as an auth file: exit 2, COMMAND never
// starts.
func TestInjectModeNeedsServicePrincipal(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.writeFakeAz(t, "")
	m := newMarker(t)
	_, stderr, code := runAzexec(t, f.env(), "", append([]string{"--inject", "auth-file", "--"}, m.command()...)...)
	if code != 2 || !strings.Contains(stderr, "needs a service principal") || !strings.Contains(stderr, "azexec: hint: ") || m.exists() {
		t.Errorf("status %d, marker %v\n%s", code, m.exists(), stderr)
	}
}

// TestSubscriptionFromResourceManager: with no subscription configured, the
// only one the identity can list is given to the child, and with --arm
// Terraform's variables too.
func TestSubscriptionFromResourceManager(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	sub := newUUID()
	f.SetSubscriptions(p.objectID(), fakeazure.Subscription{ID: sub, DisplayName: "only", TenantID: p.tenant, State: "Enabled"})
	// An auth file pointing Resource Manager at the fake, as for Azure Stack.
	path := f.path("auth.json")
	data, _ := json.Marshal(map[string]string{"clientId": p.client, "clientSecret": p.secret, "tenantId": p.tenant,
		"activeDirectoryEndpointUrl": f.URL, "resourceManagerEndpointUrl": f.URL + "/"})
	os.WriteFile(path, data, 0o600)
	out, stderr, code := runAzexec(t, f.env(), "", "--auth-file", path, "--arm",
		"--", "sh", "-c", `echo "$AZURE_SUBSCRIPTION_ID $ARM_SUBSCRIPTION_ID $ARM_CLIENT_ID ${#ARM_CLIENT_SECRET}"`)
	want := fmt.Sprintf("%s %s %s %d", sub, sub, p.client, len(p.secret))
	if code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("status %d, child printed %q, want %q\n%s", code, out, want, stderr)
	}
	w := whoami(t, f.env(), "--auth-file", path)
	if w.Subscription != sub {
		t.Errorf("whoami subscription = %q, want %q", w.Subscription, sub)
	}
}
