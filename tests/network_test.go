package tests

// A sign-in endpoint azexec cannot reach: each way the network fails
// (no such host, connection refused, a certificate nobody trusts, a host
// that never answers) ends within --timeout, exit 3, with an error that
// names the host and the cause and a hint that fits the cause. Before,
// all four ended after up to 30 s with "unable to resolve an endpoint:
// server response error:" and nothing after the colon.

import (
	"cmp"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// networkTimeout is the --timeout of these runs.
const networkTimeout = 2 * time.Second

// unreachableEnv is a service principal whose authority is host, in
// azexec's own process environment (AZURE_AUTHORITY_HOST is trusted only
// there), and nothing else: no fake Azure, and no CA to trust at all (an
// empty SSL_CERT_FILE and SSL_CERT_DIR, which also spares loading the
// system's roots within the short handshake timeout).
func unreachableEnv(t *testing.T, authority string) []string {
	dir := t.TempDir()
	noCAs := filepath.Join(dir, "no-cas.pem")
	if err := os.WriteFile(noCAs, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + dir,
		"SSL_CERT_FILE=" + noCAs,
		"SSL_CERT_DIR=" + t.TempDir(),
		"AZURE_TENANT_ID=" + newUUID(),
		"AZURE_CLIENT_ID=" + newUUID(),
		"AZURE_CLIENT_SECRET=net8Q~" + randomHex(20),
		"AZURE_AUTHORITY_HOST=" + authority,
	}
}

// refusedAddr is a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentListener accepts connections and never says a word, until the
// test ends.
func silentListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// untrustedTLS is a TLS listener whose certificate (httptest's own CA) the
// run does not trust.
func untrustedTLS(t *testing.T) string {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request passed TLS with an untrusted certificate: %s %s", r.Method, r.URL.Path)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "https://")
}

func TestUnreachableAuthorityNamesHostAndCause(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		host    func(t *testing.T) string
		cause   []string // each must be on the error line
		hint    []string // each must be in the hint
		timeout time.Duration
	}{
		{"dns", func(*testing.T) string { return "login.azexec-test.invalid" },
			[]string{"DNS lookup failed"}, []string{"VPN", "HTTPS_PROXY", "NO_PROXY", "AZURE_AUTHORITY_HOST"}, 0},
		{"refused", refusedAddr,
			[]string{"connection refused"}, []string{"nothing accepts connections at", "HTTPS_PROXY"}, 0},
		{"untrusted certificate", untrustedTLS,
			[]string{"TLS certificate not accepted", "unknown authority"}, []string{"TLS-inspecting proxy", "SSL_CERT_FILE"},
			// A certificate failure ends the run at once (it is not
			// retried); the longer --timeout only keeps a slow handshake
			// on a loaded machine from ending as a timeout instead.
			10 * time.Second},
		{"no answer", silentListener,
			[]string{"timed out"}, []string{"--timeout", "HTTPS_PROXY"}, 0},
	}
	var mu sync.Mutex
	hints := map[string]string{}
	t.Cleanup(func() {
		// Each cause its own advice: a hint that fits all of them fits none.
		seen := map[string]string{}
		for name, h := range hints {
			if other, dup := seen[h]; dup {
				t.Errorf("%s and %s give the same hint %q", name, other, h)
			}
			seen[h] = name
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			host := c.host(t)
			timeout := cmp.Or(c.timeout, networkTimeout)
			env := unreachableEnv(t, "https://"+host+"/")
			start := time.Now()
			stdout, stderr, code := runAzexec(t, env, "", "--timeout", timeout.String(), "whoami")
			elapsed := time.Since(start)
			if code != 3 {
				t.Errorf("status %d, want 3", code)
			}
			if stdout != "" {
				t.Errorf("stdout not empty: %q", stdout)
			}
			line := requireLine(t, stderr, "azexec: error: ")
			if !strings.Contains(line, "cannot reach "+host) {
				t.Errorf("the error does not name the host %q: %q", host, line)
			}
			for _, want := range c.cause {
				if !strings.Contains(line, want) {
					t.Errorf("the error does not say %q: %q", want, line)
				}
			}
			if strings.HasSuffix(strings.TrimSpace(line), ":") || strings.Contains(line, "server response error") {
				t.Errorf("the error still ends in the SDK's empty wrapping: %q", line)
			}
			hint := requireLine(t, stderr, "azexec: hint: ")
			for _, want := range c.hint {
				if !strings.Contains(hint, want) {
					t.Errorf("the hint does not mention %q: %q", want, hint)
				}
			}
			mu.Lock()
			hints[c.name] = hint
			mu.Unlock()
			// Not a measure of speed: a guard that --timeout bounds the
			// sign-in at all. Without it the chain's own 30 s limit (and
			// more, with the SDK's retries) applied; the bound is as loose
			// as it can be and still tell the two apart.
			if limit := 25 * time.Second; timeout == networkTimeout && elapsed > limit {
				t.Errorf("took %s with --timeout %s: the sign-in is not bounded by --timeout", elapsed.Round(time.Millisecond), timeout)
			}
		})
	}
}
