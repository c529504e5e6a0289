package fakeazure

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Fixed identities used when Options leave them empty. They are made-up
// values that no real tenant or application has.
const (
	// DefaultTenant is the home tenant: the tenant of the managed identity
	// and the tenant Key Vault challenges name.
	DefaultTenant = "7e1a5c3b-0f4d-4e8a-9b62-d5c4a3f2e1b0"
	// DefaultMIClientID is the client id of the system-assigned managed
	// identity served by the App Service and IMDS endpoints.
	DefaultMIClientID = "4c7d9e2a-6b1f-4a3c-8e5d-0a9b8c7d6e5f"
	// DefaultTokenTTL is the lifetime of issued access tokens
	// (expires_in 3599, as Entra ID answers).
	DefaultTokenTTL = 3599 * time.Second

	// VaultAudience is the resource Key Vault challenges name, and the
	// audience its tokens must carry.
	VaultAudience = "https://vault.azure.net"
	// ManagementAudience is the Resource Manager audience.
	ManagementAudience = "https://management.azure.com/"
)

// Request kinds, as recorded in the request log and matched by Fault.Kind.
const (
	KindDiscovery = "discovery" // GET /{tenant}/v2.0/.well-known/openid-configuration
	KindToken     = "token"     // POST /{tenant}/oauth2/v2.0/token
	KindMI        = "mi"        // App Service managed identity endpoint
	KindIMDS      = "imds"      // IMDS token endpoint
	KindKV        = "kv"        // any request to a vault
	KindARM       = "arm"       // Resource Manager
	KindOther     = "other"     // anything else (answered 404)
)

// Options configure Start. The zero value is usable.
type Options struct {
	// Dir is where the CA certificate (ca.pem) is written. Empty means a new
	// temporary directory, removed by Close.
	Dir string
	// Addr is the listen address of the main server; it must be a loopback
	// address. Empty means 127.0.0.1 on a random port. Vaults listen on the
	// same IP, each on its own random port.
	Addr string
	// Tenant is the home tenant (DefaultTenant if empty): managed identities
	// belong to it and Key Vault challenges name it.
	Tenant string
	// MIClientID is the client id of the system-assigned managed identity
	// (DefaultMIClientID if empty).
	MIClientID string
	// TokenTTL is the lifetime of issued tokens (DefaultTokenTTL if zero).
	TokenTTL time.Duration
	// Latency is added to every request of every kind before it is handled.
	Latency time.Duration
}

// Server is a running fake. Its exported fields are set by Start and must
// not be changed. All methods are safe for concurrent use.
type Server struct {
	// URL is the main server's origin, e.g. https://127.0.0.1:41234, with
	// no trailing slash. It is the authority host (AZURE_AUTHORITY_HOST is
	// URL + "/") and serves the managed identity, IMDS and Resource
	// Manager endpoints too.
	URL string
	// CAFile is the path of the PEM file holding the CA certificate that
	// signed every certificate the fake serves.
	CAFile string
	// CAPEM is the content of CAFile.
	CAPEM []byte
	// MIHeader is the secret the App Service managed identity endpoint
	// expects in X-IDENTITY-HEADER (the value of IDENTITY_HEADER).
	MIHeader string

	opts    Options
	host    string // listen IP
	tlsCert tls.Certificate
	roots   *x509.CertPool
	tempDir string

	mu        sync.Mutex
	closed    bool
	servers   []*http.Server
	tenants   map[string]*tenant // lower-case tenant id
	userMIs   []userMI
	tokens    map[string]*tokenInfo
	issued    []string
	vaults    map[string]*vault // lower-case vault name
	subs      map[string][]Subscription
	faults    []*faultState
	reqs      []Request
	inflight  map[string]int
	peak      map[string]int
	allFlight int
	allPeak   int
	conns     int // connections accepted since Start or Reset
	resumed   int // requests on a connection whose TLS session was resumed

	// registries are the container registries of acr.go, by lower-case
	// name; made by the first AddRegistry.
	registries map[string]*registry

	// echoes and echoed are echo.go's: servers that echo credentials.
	echoes []*echoState
	echoed []string

	// issuers are the CI OIDC issuers of oidc.go, by iss; assertions are
	// every ID token they signed.
	issuers    map[string]*OIDCIssuer
	assertions []string
}

// Start generates a CA and a server certificate, writes the CA to
// Options.Dir, and starts serving HTTPS on a loopback address.
func Start(opts Options) (*Server, error) {
	if opts.Tenant == "" {
		opts.Tenant = DefaultTenant
	}
	if opts.MIClientID == "" {
		opts.MIClientID = DefaultMIClientID
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: bad address %q: %v", opts.Addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("fakeazure: address %q is not a loopback IP address", opts.Addr)
	}
	s := &Server{
		opts:     opts,
		host:     host,
		tenants:  map[string]*tenant{},
		tokens:   map[string]*tokenInfo{},
		vaults:   map[string]*vault{},
		subs:     map[string][]Subscription{},
		inflight: map[string]int{},
		peak:     map[string]int{},
		MIHeader: randomHex(16),
	}
	s.tenants[strings.ToLower(opts.Tenant)] = newTenant(opts.Tenant)

	ca, err := newCA(net.ParseIP(host))
	if err != nil {
		return nil, err
	}
	s.tlsCert = ca.leaf
	s.CAPEM = ca.pem
	s.roots = x509.NewCertPool()
	s.roots.AddCert(ca.cert)

	dir := opts.Dir
	if dir == "" {
		dir, err = os.MkdirTemp("", "fakeazure-")
		if err != nil {
			return nil, fmt.Errorf("fakeazure: %v", err)
		}
		s.tempDir = dir
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	s.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(s.CAFile, s.CAPEM, 0o644); err != nil {
		s.removeTemp()
		return nil, fmt.Errorf("fakeazure: %v", err)
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		s.removeTemp()
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	s.URL = "https://" + ln.Addr().String()
	s.serveTLS(ln, http.HandlerFunc(s.serveMain))
	return s, nil
}

// Close stops every listener the server started (main, vaults, IMDS) and
// removes the temporary directory if Start made one. Requests in flight
// are cut off. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	for _, srv := range servers {
		_ = srv.Close()
	}
	s.removeTemp()
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// Client returns a new HTTP client, with its own connection pool, that
// trusts the fake's CA (and nothing else).
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:           nil,
		TLSClientConfig: &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12},
		// Tests may open many connections at once to measure concurrency.
		MaxIdleConnsPerHost: 16,
	}}
}

// MIEndpoint returns the App Service managed identity endpoint, the value
// for IDENTITY_ENDPOINT.
func (s *Server) MIEndpoint() string { return s.URL + "/msi/token" }

// Tenant returns the home tenant (Options.Tenant or DefaultTenant).
func (s *Server) Tenant() string { return s.opts.Tenant }

// MIClientID returns the client id of the system-assigned managed identity.
func (s *Server) MIClientID() string { return s.opts.MIClientID }

// serveTLS serves h over TLS (HTTP/1.1 only) on ln until Close.
func (s *Server) serveTLS(ln net.Listener, h http.Handler) *http.Server {
	cfg := &tls.Config{
		Certificates: []tls.Certificate{s.tlsCert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	return s.serve(tls.NewListener(ln, cfg), h)
}

// serve serves h on ln until Close; it returns nil if the fake is closed.
func (s *Server) serve(ln net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		// Handshake failures from clients that don't trust the CA, and
		// aborted handlers, are expected in tests: keep stderr quiet.
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.mu.Lock()
				s.conns++
				s.mu.Unlock()
			case http.StateActive:
				if tc, ok := c.(*tls.Conn); ok && tc.ConnectionState().DidResume {
					s.mu.Lock()
					s.resumed++
					s.mu.Unlock()
				}
			}
		},
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return srv
}

// serveMain routes the main server's requests.
func (s *Server) serveMain(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration":
		s.instrument(w, r, KindDiscovery, func(w http.ResponseWriter, r *http.Request) { s.handleDiscovery(w, r, parts[0]) })
	case len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token":
		s.instrument(w, r, KindToken, func(w http.ResponseWriter, r *http.Request) { s.handleToken(w, r, parts[0]) })
	case p == "/msi/token":
		s.instrument(w, r, KindMI, s.handleAppServiceMI)
	case p == "/metadata/identity/oauth2/token":
		s.instrument(w, r, KindIMDS, s.handleIMDS)
	case len(parts) == 4 && parts[0] == "_oidc" && (parts[1] == "github" || parts[1] == "devops"):
		kind := KindGitHubOIDC
		if parts[1] == "devops" {
			kind = KindDevOpsOIDC
		}
		s.instrument(w, r, kind, func(w http.ResponseWriter, r *http.Request) { s.handleOIDC(w, r, s.issuerAt(kind, parts[2])) })
	case parts[0] == "subscriptions":
		s.instrument(w, r, KindARM, s.handleARM)
	default:
		s.instrument(w, r, KindOther, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{
				"code": "NotFound", "message": "fakeazure does not serve " + r.URL.Path,
			}})
		})
	}
}

// Request is one entry of the request log. It never holds bodies, query
// strings or header values.
type Request struct {
	Kind   string    // one of the Kind constants
	Method string    // HTTP method
	Path   string    // URL path, without the query
	Host   string    // Host header (the vault's origin for KindKV)
	Status int       // status answered; 0 if the connection was reset or the client went away
	Fault  bool      // an injected fault applied to this request
	Time   time.Time // when the request arrived
	// Scope is the scope a KindToken request asked for (not secret: it
	// tells "one token request per tenant and scope" apart); "" otherwise.
	Scope string
	// Throttled is set when a vault's rate limit (LimitVault) answered 429.
	Throttled bool
}

// Requests returns a copy of the request log, in order of completion.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// CountRequests returns how many logged requests have the given kind; ""
// counts all.
func (s *Server) CountRequests(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "" {
		return len(s.reqs)
	}
	n := 0
	for _, r := range s.reqs {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// PeakConcurrency returns the largest number of requests of the given kind
// ("" for all kinds together) that were in flight at once since Start or
// the last Reset.
func (s *Server) PeakConcurrency(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "" {
		return s.allPeak
	}
	return s.peak[kind]
}

// Reset clears the request log and the concurrency peaks. Registrations,
// secrets, issued tokens and faults stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
	s.peak = map[string]int{}
	for k, v := range s.inflight {
		s.peak[k] = v
	}
	s.allPeak = s.allFlight
	s.conns = 0
	s.resumed = 0
}

// Resumed returns how many requests, since Start or the last Reset, came
// on a connection that resumed an earlier TLS session (no certificate
// sent or verified).
func (s *Server) Resumed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumed
}

// Connections returns how many connections (each with its TLS handshake)
// the fake accepted, on every listener, since Start or the last Reset.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Fault describes a failure to inject into matching requests.
type Fault struct {
	// Kind selects the requests (a Kind constant); "" matches every kind.
	Kind string
	// Path, when not empty, narrows the fault to requests whose URL path
	// is Path or lies under it, compared without regard to case: for
	// example "/secrets/db-password" fails every version of one secret,
	// in any vault.
	Path string
	// Latency delays the request before it is answered (or reset).
	Latency time.Duration
	// Status, when not zero, is answered instead of the real response,
	// with an error body shaped for the kind.
	Status int
	// RetryAfter, when not empty, is sent as the Retry-After header with
	// Status.
	RetryAfter string
	// Reset closes the connection without answering.
	Reset bool
	// Times is how many requests the fault applies to; 0 means forever.
	Times int
}

type faultState struct {
	Fault
	used int
}

// AddFault adds a fault. Faults are tried in the order added; the first one
// that matches a request and is not used up applies to it. A fault with
// only Latency delays the request, which is then handled normally.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFault(kind, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Kind != "" && f.Kind != kind || !underPath(path, f.Path) {
			continue
		}
		if f.Times > 0 && f.used >= f.Times {
			continue
		}
		f.used++
		c := f.Fault
		return &c
	}
	return nil
}

// underPath reports whether path is prefix or lies under it (any case); an
// empty prefix matches everything.
func underPath(path, prefix string) bool {
	if prefix == "" {
		return true
	}
	path, prefix = strings.ToLower(path), strings.ToLower(strings.TrimSuffix(prefix, "/"))
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// instrument logs the request, tracks concurrency, applies latency and
// faults, then calls h.
func (s *Server) instrument(w http.ResponseWriter, r *http.Request, kind string, h http.HandlerFunc) {
	entry := Request{Kind: kind, Method: r.Method, Path: r.URL.Path, Host: r.Host, Time: time.Now()}
	rec := &statusRecorder{ResponseWriter: w}
	r = r.WithContext(context.WithValue(r.Context(), entryKey{}, &entry))
	s.mu.Lock()
	s.inflight[kind]++
	s.peak[kind] = max(s.peak[kind], s.inflight[kind])
	s.allFlight++
	s.allPeak = max(s.allPeak, s.allFlight)
	s.mu.Unlock()
	defer func() {
		entry.Status = rec.status
		s.mu.Lock()
		s.inflight[kind]--
		s.allFlight--
		s.reqs = append(s.reqs, entry)
		s.mu.Unlock()
	}()

	if !sleep(r.Context(), s.opts.Latency) {
		return
	}
	if f := s.takeFault(kind, r.URL.Path); f != nil {
		entry.Fault = true
		if !sleep(r.Context(), f.Latency) {
			return
		}
		if f.Reset {
			// Aborts the response: net/http closes the connection.
			panic(http.ErrAbortHandler)
		}
		if f.Status != 0 {
			if f.RetryAfter != "" {
				rec.Header().Set("Retry-After", f.RetryAfter)
			}
			writeFaultBody(rec, kind, f.Status)
			return
		}
	}
	if s.echo(rec, r, kind) {
		entry.Fault = true
		return
	}
	h(rec, r)
}

// entryKey is the context key under which a handler finds its request's
// log entry, to note what only the handler knows (a token's scope).
type entryKey struct{}

// noteEntry lets a handler amend its request's log entry; the entry is
// appended to the log when the handler returns.
func noteEntry(r *http.Request, f func(*Request)) {
	if e, ok := r.Context().Value(entryKey{}).(*Request); ok {
		f(e)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeFaultBody(w http.ResponseWriter, kind string, status int) {
	msg := fmt.Sprintf("injected fault: %d %s", status, http.StatusText(status))
	switch kind {
	case KindDiscovery, KindToken, KindIMDS:
		writeJSON(w, status, map[string]any{"error": "temporarily_unavailable", "error_description": msg})
	case KindMI:
		writeJSON(w, status, map[string]any{"statusCode": status, "message": msg})
	default:
		code := strings.ReplaceAll(http.StatusText(status), " ", "")
		if status == http.StatusTooManyRequests {
			code = "Throttled"
		}
		writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randomUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var errClosed = errors.New("fakeazure: server is closed")
