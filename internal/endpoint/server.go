package endpoint

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/fail"
)

// Bounds on what a caller may send.
const (
	maxHeaderBytes = 8 << 10
	maxBodyBytes   = 4 << 10
)

// Options configures a Server. The caller decides where it listens and
// what its secret is; the server decides nothing about either.
type Options struct {
	// Listener is where the server answers; Start takes it over and Close
	// closes it.
	Listener net.Listener
	// Secret is the run's secret (NewSecret): the value of IDENTITY_HEADER
	// and MSI_SECRET, and the root of MSI_ENDPOINT's secret path.
	Secret string
	// Credential gets the tokens, for the identity the server speaks for.
	Credential azcore.TokenCredential
	// ClientID and ObjectID are the served identity's: a request naming
	// another identity is refused.
	ClientID, ObjectID string
	// AllowResources, when not empty, lists the only resources served, as
	// resources or /.default scopes (providers.Scope's form); anything else
	// gets 403. Each must be canonical (AllowedResource), or Start fails:
	// matching loosely would let variants through.
	AllowResources []string
	// Advertise is the host name clients reach the server by, which goes
	// into the endpoint URLs (host.docker.internal, say). Empty means the
	// listener's own address.
	Advertise string
	Logger    hclog.Logger
}

// Server is the identity endpoint. It serves from Start until Close.
type Server struct {
	opts  Options
	allow []string // opts.AllowResources, canonical
	// hosts are the Host header values (without port) accepted.
	hosts   []string
	msiPath string
	base    string // http://HOST:PORT
	tokens  *tokenCache
	srv     *http.Server
	done    chan struct{}
}

// Start serves on opts.Listener until Close. On error the listener is
// closed.
func Start(opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		opts.Listener.Close()
		return nil, err
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      70 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          s.opts.Logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(opts.Listener)
	}()
	s.opts.Logger.Info("identity endpoint listening", "url", s.base, "address", opts.Listener.Addr().String())
	return s, nil
}

func newServer(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if len(opts.Secret) < 2*secretBytes {
		return nil, fail.New(fail.Usage, "the identity endpoint's secret is shorter than 256 bits")
	}
	var allow []string
	for _, a := range opts.AllowResources {
		c, err := AllowedResource(a)
		if err != nil {
			return nil, fail.New(fail.Usage, "--allow-scope %q: %v", a, err).
				WithHint("give an alias, or the resource exactly as SDKs ask for it, such as https://vault.azure.net")
		}
		allow = append(allow, c)
	}
	tcp, ok := opts.Listener.Addr().(*net.TCPAddr)
	if !ok {
		return nil, fail.New(fail.Usage, "the identity endpoint needs a TCP listener")
	}
	host := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(opts.Advertise, "["), "]"))
	if host == "" {
		host = tcp.IP.String()
	}
	hosts := []string{host, tcp.IP.String()}
	if tcp.IP.IsLoopback() {
		hosts = append(hosts, "localhost")
	}
	return &Server{
		opts:    opts,
		allow:   allow,
		hosts:   hosts,
		msiPath: msiPathFor(opts.Secret),
		base:    "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)),
		tokens:  newTokenCache(opts.Credential, opts.Logger),
		done:    make(chan struct{}),
	}, nil
}

// URL is IDENTITY_ENDPOINT: the App Service endpoint, without secrets.
func (s *Server) URL() string { return s.base + appServicePath }

// Close stops the server: the listener closes at once, so nothing answers
// on the port after Close returns; requests in flight get two seconds.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	s.tokens.close()
	return err
}

// audit is what the one log line of a request says.
type audit struct {
	caller   string
	form     form
	resource string
	status   int
	cache    string // hit, miss or "" (no token was looked up)
	reason   string
}

// ServeHTTP authenticates the caller, then answers by the protocol its
// path and method name.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := &audit{caller: r.RemoteAddr}
	defer s.logRequest(a)
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	f, req, err := s.parse(r)
	a.form = f
	if err == nil {
		a.resource = req.resource
		err = s.authorize(req)
	}
	if err != nil {
		var er *errorReply
		if !errors.As(err, &er) {
			er = &errorReply{http.StatusBadRequest, "bad request"}
		}
		a.status, a.reason = er.status, er.msg
		writeError(w, er.status, er.msg)
		return
	}
	s.issue(w, r, req, a)
}

// parse checks the Host header and the caller's secret, then reads the
// request of the form its path names. The secret is checked before
// anything of the request is read.
func (s *Server) parse(r *http.Request) (form, tokenRequest, error) {
	if !s.knownHost(r.Host) {
		return 0, tokenRequest{}, &errorReply{http.StatusMisdirectedRequest, "the Host header does not name this endpoint"}
	}
	if r.URL.Path == appServicePath {
		if !sameSecret(r.Header.Get(headerName), s.opts.Secret) {
			return formAppService, tokenRequest{}, &errorReply{http.StatusUnauthorized, "missing or wrong " + headerName + " header"}
		}
		req, err := parseTokenRequest(r.Method, r.URL.Path, r.URL.RawQuery)
		return formAppService, req, err
	}
	// MSI_ENDPOINT's path is the secret of the Cloud Shell form; the 2017
	// form may add one slash.
	if !sameSecret(strings.TrimSuffix(r.URL.Path, "/"), s.msiPath) {
		return 0, tokenRequest{}, &errorReply{http.StatusNotFound, "not found"}
	}
	if r.Method == http.MethodGet && !sameSecret(r.Header.Get(legacySecretName), s.opts.Secret) {
		return formLegacy, tokenRequest{}, &errorReply{http.StatusUnauthorized, "missing or wrong secret header"}
	}
	var body string
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return formCloudShell, tokenRequest{}, &errorReply{http.StatusRequestEntityTooLarge, "the body is too large"}
		}
		body = string(b)
	}
	return parseMSIRequest(r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get(metadataName), body)
}

// sameSecret compares in constant time; an empty value never matches.
func sameSecret(given, want string) bool {
	return given != "" && subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}

// knownHost reports whether the Host header names this server by one of
// the names it was given: a web page that rebinds its own name to this
// address cannot then reach it.
func (s *Server) knownHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	for _, h := range s.hosts {
		if host == h {
			return true
		}
	}
	return false
}

// authorize refuses other identities and resources outside the allow
// list. req.resource is canonical, and the allowed resources were made
// canonical by Start, so the comparison sees exactly what issue will ask
// for.
func (s *Server) authorize(req tokenRequest) error {
	for _, k := range identitySelectors {
		v, ok := req.selectors[k]
		if !ok {
			continue
		}
		var own string
		switch k {
		case "client_id", "clientid":
			own = s.opts.ClientID
		case "object_id", "principal_id":
			own = s.opts.ObjectID
		default:
			return &errorReply{http.StatusBadRequest, k + " is not supported: azexec serves one identity"}
		}
		if !sameID(v, own) {
			return &errorReply{http.StatusBadRequest, k + " does not name the identity azexec resolved"}
		}
	}
	if len(s.allow) == 0 {
		return nil
	}
	for _, a := range s.allow {
		if sameResource(req.resource, a) {
			return nil
		}
	}
	return &errorReply{http.StatusForbidden, "resource is not in azexec's --allow-scope list"}
}

// issue answers with the token, from the cache or fetched, in the form
// every one of the protocols' clients reads.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, req tokenRequest, a *audit) {
	tok, hit, err := s.tokens.get(r.Context(), resourceScope(req.resource))
	a.cache = "miss"
	if hit {
		a.cache = "hit"
	}
	if err != nil {
		a.status, a.reason = http.StatusInternalServerError, "no token: "+firstLineOf(err.Error())
		writeError(w, http.StatusInternalServerError, "azexec could not get a token for this resource; see azexec's log")
		return
	}
	a.status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": tok.Token,
		"expires_on":   strconv.FormatInt(tok.ExpiresOn.Unix(), 10),
		"expires_in":   strconv.FormatInt(max(int64(time.Until(tok.ExpiresOn).Seconds()), 0), 10),
		"resource":     req.resource,
		"token_type":   "Bearer",
		"client_id":    s.opts.ClientID,
	})
}

// logRequest writes the request's one audit line: info when served, warn
// when refused or failed.
func (s *Server) logRequest(a *audit) {
	args := []any{"caller", a.caller, "protocol", a.form.String(), "resource", a.resource, "status", a.status}
	if a.cache != "" {
		args = append(args, "cache", a.cache)
	}
	if a.status == http.StatusOK {
		s.opts.Logger.Info("identity endpoint: token issued", args...)
		return
	}
	s.opts.Logger.Warn("identity endpoint: request refused", append(args, "reason", a.reason)...)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": msg, "error": http.StatusText(status), "error_description": msg})
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
