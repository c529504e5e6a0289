package tests

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Attacks on Key Vault emulators, end to end. A vault on loopback is an
// emulator, whose challenge cannot name a resource under its host, so the
// SDK's challenge check cannot hold for it. The attacker controls a
// reference (a repository's env file) and a listener on a local port that
// answers the unauthenticated request with 401 and a challenge for
// Resource Manager or Graph. Each test fails if the listener ever sees an
// Authorization header it should not.

// posingEmulator is a TLS listener on 127.0.0.1 that challenges every
// request without a token for resource, and answers one with a token with
// a secret. It records every connection and every Authorization header.
type posingEmulator struct {
	host   string // 127.0.0.1:PORT
	port   string
	caFile string // the fake's CA and this listener's certificate
	value  string // the secret it serves

	mu    sync.Mutex
	conns int
	reqs  int
	auth  []string
}

func newPosingEmulator(t *testing.T, f *fake, resource string) *posingEmulator {
	t.Helper()
	cert, certPEM := localhostCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &posingEmulator{host: ln.Addr().String(), value: "emulated-" + randomHex(8)}
	_, p.port, _ = net.SplitHostPort(p.host)
	challenge := fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, f.URL, f.Tenant(), resource)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				p.mu.Lock()
				p.conns++
				p.mu.Unlock()
			}
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := r.Header.Get("Authorization")
			p.mu.Lock()
			p.reqs++
			if a != "" {
				p.auth = append(p.auth, a)
			}
			p.mu.Unlock()
			if a == "" {
				w.Header().Set("WWW-Authenticate", challenge)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"value":%q,"id":"https://%s/secrets/db/0123456789abcdef0123456789abcdef"}`, p.value, r.Host)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	ca, err := os.ReadFile(f.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	p.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p.caFile, append(append(ca, '\n'), certPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// seen returns the connections, requests and Authorization headers so far.
func (p *posingEmulator) seen() (conns, reqs int, auth []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns, p.reqs, append([]string(nil), p.auth...)
}

// env is kvEnv trusting the listener's certificate too.
func (p *posingEmulator) env(f *fake, s sp, extra ...string) []string {
	return setEnv(kvEnv(f, s, extra...), "SSL_CERT_FILE="+p.caFile)
}

// localhostCert is a self-signed certificate for localhost, *.localhost
// names used here, 127.0.0.1 and ::1.
func localhostCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "posing emulator"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		DNSNames:              []string{"localhost", "evil.localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// The audiences an attacker wants a token for.
var stolenAudiences = map[string]string{
	"arm":   "https://management.azure.com",
	"graph": "https://graph.microsoft.com",
}

// TestAttackEmulatorWithoutConsent: a reference to a vault on loopback, in
// any syntax, from an env file or the process environment, is a usage
// error (exit 2) naming --keyvault-emulator, found before any request:
// the listener is never even connected to, and COMMAND does not start.
// Consent to another port, or to another name for the same port, does not
// count. (Before any connection the challenge plays no part, so the whole
// matrix runs against the Resource Manager listener, and one case against
// the Graph one.)
func TestAttackEmulatorWithoutConsent(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	arm, graph := newPosingEmulator(t, f, stolenAudiences["arm"]), newPosingEmulator(t, f, stolenAudiences["graph"])
	run := func(e *posingEmulator, env []string, args ...string) {
		t.Helper()
		m := newMarker(t)
		if len(args) == 0 || args[len(args)-1] != "--json" && args[len(args)-1] != "env" {
			args = wrap(args, m.command()...)
		}
		stdout, stderr, code := runAzexec(t, env, "", args...)
		if code != 2 || m.exists() || stdout != "" ||
			!strings.Contains(stderr, "azexec: error: key vault reference to an emulator --keyvault-emulator does not name: DB (") ||
			!strings.Contains(stderr, "azexec: hint: a vault on loopback is a Key Vault emulator, and azexec sends it a token only when you name it") {
			t.Errorf("%q: status %d, COMMAND ran %v, stdout %q\n%s", args, code, m.exists(), stdout, stderr)
		}
	}
	localhost := "localhost:" + arm.port
	// Each reference, and a name for the same port that it does not use.
	refs := []struct{ ref, otherName string }{
		{"keyvault://" + localhost + "/db", arm.host},
		{"keyvault://" + arm.host + "/db", localhost},
		{"@Microsoft.KeyVault(SecretUri=https://" + arm.host + "/secrets/db)", localhost},
		{"@Microsoft.KeyVault(VaultName=" + localhost + ";SecretName=db)", arm.host},
		{"keyvault://evil.localhost:" + arm.port + "/db", localhost},
		{"keyvault://[::1]:" + arm.port + "/db", arm.host},
		{"keyvault://127.0.0.2:" + arm.port + "/db", arm.host},
	}
	for i, r := range refs {
		file := f.writeFile(t, fmt.Sprintf("ref-%d.env", i), "DB="+r.ref+"\n")
		run(arm, arm.env(f, p), "--env-file", file)
		run(arm, arm.env(f, p), "--env-file", file, "--keyvault-emulator", "127.0.0.1:1,"+r.otherName)
	}
	run(arm, arm.env(f, p, "DB="+refs[0].ref))
	run(arm, arm.env(f, p, "DB="+refs[1].ref), "env")
	run(arm, arm.env(f, p, "DB="+refs[2].ref), "whoami", "--json")
	run(graph, graph.env(f, p, "DB=keyvault://"+graph.host+"/db", consent("localhost:"+graph.port)))
	for name, e := range map[string]*posingEmulator{"arm": arm, "graph": graph} {
		if conns, reqs, auth := e.seen(); conns != 0 || reqs != 0 || len(auth) != 0 {
			t.Errorf("%s: the listener saw %d connections, %d requests, %d Authorization headers", name, conns, reqs, len(auth))
		}
	}
}

// TestAttackConsentedEmulatorStealsNoToken: even an emulator the user
// named gets no token when its challenge asks for another audience than
// Key Vault's: the run fails (exit 4), COMMAND does not start, and the
// listener, which did receive the unauthenticated request, never receives
// an Authorization header.
func TestAttackConsentedEmulatorStealsNoToken(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	for name, resource := range stolenAudiences {
		t.Run(name, func(t *testing.T) {
			e := newPosingEmulator(t, f, resource)
			for _, run := range []struct {
				env  []string
				args []string
			}{
				{e.env(f, p, "DB=keyvault://"+e.host+"/db"), []string{"--keyvault-emulator", e.host}},
				{e.env(f, p, "DB=keyvault://localhost:"+e.port+"/db", "AZEXEC_KEYVAULT_EMULATOR=localhost:"+e.port), nil},
				{e.env(f, p, "DB=@Microsoft.KeyVault(SecretUri=https://"+e.host+"/secrets/db)", consent(e.host)), []string{"env"}},
			} {
				m := newMarker(t)
				args := run.args
				if len(args) == 0 || args[0] != "env" {
					args = wrap(args, m.command()...)
				}
				_, before, _ := e.seen()
				stdout, stderr, code := runAzexec(t, run.env, "", args...)
				_, after, auth := e.seen()
				if code != 4 || m.exists() || stdout != "" {
					t.Errorf("%q: status %d, COMMAND ran %v, stdout %q", args, code, m.exists(), stdout)
				}
				if after == before {
					t.Errorf("%q: the listener was never asked: the attack was not tried", args)
				}
				if len(auth) != 0 {
					t.Fatalf("%q: the listener received a token (%d Authorization headers)", args, len(auth))
				}
				for _, w := range []string{
					`the emulator's challenge asks for a token for "` + resource + `", not for Key Vault (https://vault.azure.net)`,
					"azexec: hint: an emulator gets Key Vault tokens only; no token was sent",
				} {
					if !strings.Contains(stderr, w) {
						t.Errorf("%q: stderr lacks %q\n%s", args, w, stderr)
					}
				}
				checkNoSecrets(t, f, stdout+stderr, nil)
			}
			// Not even asked for: azexec proves the identity with a
			// Resource Manager token of its own (which stays in azexec),
			// but it never has a reason to ask for Graph.
			for _, aud := range issuedAudiences(t, f) {
				if name == "graph" && strings.TrimSuffix(aud, "/") == resource {
					t.Errorf("the fake issued a token for %s", aud)
				}
			}
		})
	}
}

// issuedAudiences are the audiences of every token the fake issued.
func issuedAudiences(t *testing.T, f *fake) []string {
	t.Helper()
	var out []string
	for _, tok := range f.IssuedTokens() {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatal("a token is not a JWT")
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			Aud string `json:"aud"`
		}
		if err != nil || json.Unmarshal(payload, &claims) != nil {
			t.Fatal("a token's payload does not decode")
		}
		out = append(out, claims.Aud)
	}
	return out
}

// TestEmulatorByConsent is the positive case, and what shows that the
// listener above would have caught a token: named by the user and
// challenging for the Key Vault audience, the same listener gets the
// identity's Key Vault token and the child its secret.
func TestEmulatorByConsent(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	e := newPosingEmulator(t, f, "https://vault.azure.net")
	for _, host := range []string{e.host, "localhost:" + e.port} {
		out := filepath.Join(t.TempDir(), "env")
		_, stderr, code := runAzexec(t, e.env(f, p, "DB=keyvault://"+host+"/db"),
			"", wrap([]string{"--keyvault-emulator", host}, dumpEnv(out)...)...)
		if code != 0 {
			t.Fatalf("%s: status %d\n%s", host, code, stderr)
		}
		wantVars(t, host, readDump(t, out), map[string]string{"DB": e.value})
	}
	if _, _, auth := e.seen(); len(auth) != 2 || !strings.HasPrefix(auth[0], "Bearer ") {
		t.Errorf("%d Authorization headers, want one per run", len(auth))
	}
}
