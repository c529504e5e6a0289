package resolve

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// get sends one GET with client and returns its error, which must not be
// nil.
func get(t *testing.T, client *http.Client, u string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded, want a transport failure", u)
	}
	return err
}

// selfSigned is a TLS certificate for names, valid from notBefore to
// notAfter, and a pool that trusts it.
func selfSigned(t *testing.T, names []string, notBefore, notAfter time.Time) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: names,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// tlsServer serves cert; the handler must never run.
func tlsServer(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request passed TLS verification: %s", r.URL)
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// TestClassifyRealFailures makes each kind of failure happen for real on
// loopback and checks its class, the host and the words of the cause.
func TestClassifyRealFailures(t *testing.T) {
	now := time.Now()
	good, goodPool := selfSigned(t, []string{"localhost"}, now.Add(-time.Hour), now.Add(time.Hour))
	expired, expiredPool := selfSigned(t, []string{"localhost"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	withRoots := func(pool *x509.CertPool, serverName string) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName}}}
	}
	goodSrv := tlsServer(t, good)
	expiredSrv := tlsServer(t, expired)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	refused := closedAddr(t)

	cases := []struct {
		name    string
		err     func() error
		problem NetProblem
		host    string
		detail  []string
		hint    []string
	}{
		{"refused", func() error { return get(t, http.DefaultClient, "https://"+refused+"/tenant/v2.0") },
			NetRefused, refused, []string{"connection refused"}, []string{"nothing accepts connections at " + refused, "HTTPS_PROXY"}},
		{"unknown authority", func() error { return get(t, withRoots(x509.NewCertPool(), ""), goodSrv.URL) },
			NetCertificate, strings.TrimPrefix(goodSrv.URL, "https://"), []string{"TLS certificate not accepted", "unknown authority"}, []string{"SSL_CERT_FILE", "TLS-inspecting"}},
		{"hostname mismatch", func() error { return get(t, withRoots(goodPool, "login.example"), goodSrv.URL) },
			NetCertificate, strings.TrimPrefix(goodSrv.URL, "https://"), []string{"TLS certificate not accepted", "not login.example"}, []string{"another host", "SSL_CERT_FILE"}},
		{"expired", func() error { return get(t, withRoots(expiredPool, "localhost"), expiredSrv.URL) },
			NetCertificate, strings.TrimPrefix(expiredSrv.URL, "https://"), []string{"TLS certificate not accepted", "expired"}, []string{"clock", "SSL_CERT_FILE"}},
		{"not TLS", func() error { return get(t, http.DefaultClient, "https://"+strings.TrimPrefix(plain.URL, "http://")) },
			NetTLS, strings.TrimPrefix(plain.URL, "http://"), []string{"TLS handshake failed"}, []string{"speaks HTTPS"}},
		{"proxy refused", func() error {
			proxy, _ := url.Parse("http://" + refused)
			return get(t, &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}, "https://login.example/")
		}, NetRefused, "login.example", []string{"through the proxy", "connection refused"}, []string{"proxy", "HTTPS_PROXY", "login.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err()
			ne := AsNetworkError(err)
			if ne == nil {
				t.Fatalf("AsNetworkError(%v) = nil", err)
			}
			if ne.Problem() != c.problem {
				t.Errorf("problem = %d, want %d (%v)", ne.Problem(), c.problem, err)
			}
			if ne.Host != c.host {
				t.Errorf("host = %q, want %q", ne.Host, c.host)
			}
			msg := ne.Error()
			if !strings.HasPrefix(msg, "cannot reach "+c.host) {
				t.Errorf("error %q does not start by naming %q", msg, c.host)
			}
			for _, w := range c.detail {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "/tenant") || strings.Contains(msg, "https://") {
				t.Errorf("error %q shows the URL, not only the host", msg)
			}
			reason, hint := explain("env", err)
			if reason != msg {
				t.Errorf("explain reason = %q, want %q", reason, msg)
			}
			for _, w := range c.hint {
				if !strings.Contains(hint, w) {
					t.Errorf("hint %q does not mention %q", hint, w)
				}
			}
		})
	}
}

// TestClassifyErrorValues covers the causes loopback cannot produce: a
// name that does not resolve, no route, a deadline.
func TestClassifyErrorValues(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &url.Error{Op: "Post", URL: "https://login.example/t/oauth2/v2.0/token?x=1",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}}
	}
	cases := []struct {
		name    string
		err     error
		problem NetProblem
		want    string
		hint    string
	}{
		{"no such host", &url.Error{Op: "Get", URL: "https://login.example/x",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "login.example", IsNotFound: true}}},
			NetDNS, "cannot reach login.example: DNS lookup failed (no such host)", "VPN"},
		{"dns server unreachable", &net.DNSError{Err: "dial udp 10.0.0.53:53: connect: network is unreachable", Name: "login.example", Server: "10.0.0.53:53"},
			NetDNS, "cannot reach login.example: DNS lookup failed (DNS server 10.0.0.53:53: network is unreachable)", "AZURE_AUTHORITY_HOST"},
		{"network unreachable", opErr(syscall.ENETUNREACH), NetUnreachable, "cannot reach login.example: network unreachable (no route)", "VPN"},
		{"no route to host", opErr(syscall.EHOSTUNREACH), NetUnreachable, "cannot reach login.example: no route to host", "VPN"},
		{"refused", opErr(syscall.ECONNREFUSED), NetRefused, "cannot reach login.example: connection refused", "host and port"},
		{"dial timeout", &url.Error{Op: "Get", URL: "https://login.example/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}},
			NetTimeout, "cannot reach login.example: timed out connecting", "--timeout"},
		{"deadline", &url.Error{Op: "Get", URL: "https://login.example/", Err: context.DeadlineExceeded},
			NetTimeout, "cannot reach login.example: timed out", "--timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ne := AsNetworkError(c.err)
			if ne == nil {
				t.Fatalf("AsNetworkError(%v) = nil", c.err)
			}
			if ne.Problem() != c.problem || ne.Error() != c.want {
				t.Errorf("got %d %q, want %d %q", ne.Problem(), ne.Error(), c.problem, c.want)
			}
			if h := NetworkHint(ne); !strings.Contains(h, c.hint) {
				t.Errorf("hint %q does not mention %q", h, c.hint)
			}
		})
	}
	// Not transport failures: the service answered, or nothing names a
	// host.
	for _, err := range []error{
		errors.New("AADSTS7000215: Invalid client secret provided."),
		context.DeadlineExceeded,
		&azcore.ResponseError{StatusCode: 500},
	} {
		if ne := AsNetworkError(err); ne != nil {
			t.Errorf("AsNetworkError(%v) = %v, want nil", err, ne)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestNetworkRemembersFailures checks what the chain relies on when
// MSAL's error has lost the cause: the latest failure after the mark, and
// never a host that answered since.
func TestNetworkRemembersFailures(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	t.Cleanup(ok.Close)
	n := NewNetwork(2 * time.Second)
	if ne := n.FailureSince(n.Mark()); ne != nil {
		t.Fatalf("a new Network remembers %v", ne)
	}
	refused := closedAddr(t)
	get(t, n.Client(), "http://"+refused+"/")
	ne := n.FailureSince(0)
	if ne == nil || ne.Host != refused || ne.Problem() != NetRefused {
		t.Fatalf("FailureSince = %v, want %s refused", ne, refused)
	}
	mark := n.Mark()
	if ne := n.FailureSince(mark); ne != nil {
		t.Errorf("a failure before the mark is reported: %v", ne)
	}
	// The same host answering later clears its blame.
	okHost := strings.TrimPrefix(ok.URL, "http://")
	n.record(okHost, errors.New("earlier failure"))
	resp, err := n.Client().Get(ok.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ne := n.FailureSince(mark); ne != nil {
		t.Errorf("a host that answered since is blamed: %v", ne)
	}
	var nilNet *Network
	if nilNet.Mark() != 0 || nilNet.FailureSince(0) != nil || nilNet.Transporter() != nil || nilNet.Client() != nil {
		t.Error("a nil Network is not inert")
	}
}

// TestNetworkDoesNotRetryCertificates: a certificate nobody trusts is the
// same on every try, so the SDK's retry policy is told to stop.
func TestNetworkDoesNotRetryCertificates(t *testing.T) {
	cert, _ := selfSigned(t, []string{"localhost"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	s := tlsServer(t, cert)
	// Long enough to load the system's roots under -race.
	n := NewNetwork(time.Minute)
	err := get(t, n.Client(), s.URL)
	var nr interface{ NonRetriable() }
	if !errors.As(err, &nr) {
		t.Errorf("certificate failure %v is retriable", err)
	}
	err = get(t, n.Client(), "http://"+closedAddr(t)+"/")
	if errors.As(err, &nr) {
		t.Errorf("refused connection %v is not retriable", err)
	}
}

// TestNetworkTimeoutsFitTheRun: a listener that accepts and never answers
// costs one bounded try, far less than an unbounded handshake.
func TestNetworkTimeoutsFitTheRun(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	n := NewNetwork(400 * time.Millisecond)
	err = get(t, n.Client(), "https://"+l.Addr().String()+"/")
	ne := AsNetworkError(err)
	if ne == nil || ne.Problem() != NetTimeout || !strings.Contains(ne.Error(), "TLS handshake") {
		t.Fatalf("got %v (%v), want a TLS handshake timeout", ne, err)
	}
	if f := n.FailureSince(0); f == nil || f.Problem() != NetTimeout {
		t.Errorf("remembered %v, want the timeout", f)
	}
}

// netSource is a source whose credential fails as MSAL does: it sends its
// requests through the chain's Network and returns an error that has lost
// the cause.
type netSource struct {
	urls   []string
	answer error
}

func (netSource) Name() string { return "env" }

func (s netSource) Load(cfg *Config) (*Candidate, error) {
	return &Candidate{Credential: &netCred{client: cfg.Network.Client(), urls: s.urls, answer: s.answer},
		Identity: Identity{Cloud: Clouds["public"]}}, nil
}

type netCred struct {
	client *http.Client
	urls   []string
	answer error
}

func (c *netCred) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	for _, u := range c.urls {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := c.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	if c.answer != nil {
		return azcore.AccessToken{}, c.answer
	}
	return azcore.AccessToken{}, errors.New("ClientSecretCredential: unable to resolve an endpoint: server response error:\n Get ...")
}

func TestChainNamesTheHostMSALForgot(t *testing.T) {
	refused := closedAddr(t)
	answering := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(answering.Close)

	t.Run("cause recovered", func(t *testing.T) {
		ch := &Chain{Sources: []Source{netSource{urls: []string{"http://" + refused + "/t/v2.0/.well-known/openid-configuration"}}}}
		_, attempts, err := ch.Resolve(context.Background(), &Config{Network: NewNetwork(2 * time.Second)})
		if err == nil {
			t.Fatal("resolved")
		}
		want := "env: cannot reach " + refused + ": connection refused"
		if err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if len(attempts) != 1 || !strings.Contains(attempts[0].Hint, "nothing accepts connections") {
			t.Errorf("attempts = %+v", attempts)
		}
	})
	t.Run("the service's answer wins", func(t *testing.T) {
		// A transport failure before an AADSTS answer is not the cause.
		ch := &Chain{Sources: []Source{netSource{urls: []string{"http://" + refused + "/", answering.URL},
			answer: errors.New("ClientSecretCredential: AADSTS7000215: Invalid client secret provided.")}}}
		_, attempts, err := ch.Resolve(context.Background(), &Config{Network: NewNetwork(2 * time.Second)})
		if err == nil || strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Errorf("error = %v, want the AADSTS answer", err)
		}
		if len(attempts) != 1 || !strings.Contains(attempts[0].Hint, "client secret") {
			t.Errorf("attempts = %+v", attempts)
		}
	})
	t.Run("no network, no change", func(t *testing.T) {
		ch := &Chain{Sources: []Source{netSource{}}}
		_, _, err := ch.Resolve(context.Background(), &Config{})
		if err == nil || !strings.Contains(err.Error(), "server response error:") {
			t.Errorf("error = %v, want the SDK's own", err)
		}
	})
}

// TestNetworkErrorHidesProxyPassword: net/http quotes a malformed
// HTTPS_PROXY whole in its error, password and all; the error azexec
// prints must not.
func TestNetworkErrorHidesProxyPassword(t *testing.T) {
	const password = "pr0xy-Pa55word"
	cause := &url.Error{Op: "Post", URL: "https://login.example/t/token",
		Err: errors.New(`invalid proxy address "http://alice:` + password + `@proxy .example:3128": parse error`)}
	for _, ne := range []*NetworkError{{Host: "login.example", Cause: cause}, AsNetworkError(&net.OpError{Op: "proxyconnect", Net: "tcp", Err: cause})} {
		if ne == nil {
			t.Fatal("no NetworkError")
		}
		msg := ne.Error()
		if strings.Contains(msg, password) || strings.Contains(NetworkHint(ne), password) {
			t.Errorf("the proxy's password is in %q", msg)
		}
		if !strings.Contains(msg, "[redacted]@") {
			t.Errorf("%q does not show where the credentials were", msg)
		}
	}
}
