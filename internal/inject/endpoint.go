package inject

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/fail"
)

// The App Service managed identity protocol (2019-08-01), which every Azure
// SDK's ManagedIdentityCredential and `az login --identity` speak.
const (
	endpointPath       = "/msi/token"
	endpointAPIVersion = "2019-08-01"
	headerName         = "X-Identity-Header"
	maxHeaderBytes     = 8 << 10
)

// EndpointOptions configures the identity endpoint.
type EndpointOptions struct {
	// Credential gets the tokens; it must cache per scope and refresh
	// before expiry (resolve.Identity.Credential does).
	Credential azcore.TokenCredential
	// ClientID and ObjectID are the resolved identity's: a request naming
	// another identity is refused.
	ClientID, ObjectID string
	// AllowResources, when not empty, lists the only resources served, as
	// resources or /.default scopes (providers.Scope's form); anything else
	// gets 403. Each must be canonical (AllowedResource), or StartEndpoint
	// fails: matching loosely would let variants through.
	AllowResources []string
	Logger         hclog.Logger
}

// Endpoint is a loopback HTTP server that hands the child tokens for
// azexec's identity, so the child never holds a long-lived secret. It lives
// exactly as long as the child: the caller closes it when the child exits.
type Endpoint struct {
	// URL is the IDENTITY_ENDPOINT value.
	URL string
	// header is the IDENTITY_HEADER value: 256 random bits per run.
	header string
	opts   EndpointOptions
	// allow is opts.AllowResources made canonical.
	allow []string
	srv   *http.Server
	done  chan struct{}
}

// StartEndpoint listens on a random port of 127.0.0.1 only.
func StartEndpoint(opts EndpointOptions) (*Endpoint, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
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
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fail.New(fail.Usage, "cannot generate the identity endpoint's header").Wrap(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fail.New(fail.Usage, "cannot listen on 127.0.0.1 for the identity endpoint").Wrap(err)
	}
	e := &Endpoint{
		URL:    "http://" + ln.Addr().String() + endpointPath,
		header: hex.EncodeToString(secret),
		opts:   opts,
		allow:  allow,
		done:   make(chan struct{}),
	}
	e.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          opts.Logger.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	go func() {
		defer close(e.done)
		e.srv.Serve(ln)
	}()
	opts.Logger.Info("identity endpoint listening", "url", e.URL)
	return e, nil
}

// Header is the IDENTITY_HEADER value the child must send.
func (e *Endpoint) Header() string { return e.header }

// Close stops the server, letting requests in flight finish briefly.
func (e *Endpoint) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	<-e.done
	return err
}

// tokenRequest is a parsed, validated request.
type tokenRequest struct {
	// resource is canonical (CanonicalResource): the one string both
	// checked against --allow-scope and asked for.
	resource string
	// selectors holds each identity selector the request names
	// (client_id, object_id, ...), with its value; present but empty
	// counts.
	selectors map[string]string
}

// errorReply is an HTTP status with a message for the caller.
type errorReply struct {
	status int
	msg    string
}

func (r *errorReply) Error() string { return r.msg }

// identitySelectors are the query parameters by which a managed identity
// request names a user-assigned identity. Each names another identity
// unless it names exactly the one azexec serves; mi_res_id and its older
// spelling msi_res_id are never answered, since azexec does not know its
// identity's resource ID.
var identitySelectors = []string{"client_id", "object_id", "principal_id", "mi_res_id", "msi_res_id"}

// singleParams are the parameters azexec reads; each may appear once, so
// that no two readers of one request can see different values.
var singleParams = append([]string{"api-version", "resource"}, identitySelectors...)

// parseTokenRequest checks method, path, version and parameters. It is a
// pure function of the request line so it can be fuzzed.
func parseTokenRequest(method, path, rawQuery string) (tokenRequest, error) {
	if path != endpointPath {
		return tokenRequest{}, &errorReply{http.StatusNotFound, "not found"}
	}
	if method != http.MethodGet {
		return tokenRequest{}, &errorReply{http.StatusMethodNotAllowed, "only GET is supported"}
	}
	// url.URL.Query drops malformed pairs silently; a request azexec
	// cannot read exactly is refused instead.
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, "the query is malformed"}
	}
	for _, k := range singleParams {
		if len(query[k]) > 1 {
			return tokenRequest{}, &errorReply{http.StatusBadRequest, "the " + k + " parameter is given more than once"}
		}
	}
	// Azure's own endpoints read parameter names without regard to case,
	// so Client_Id must not slip past as an unknown parameter.
	for k := range query {
		for _, p := range singleParams {
			if k != p && strings.EqualFold(k, p) {
				return tokenRequest{}, &errorReply{http.StatusBadRequest, "the " + p + " parameter must be written in lower case"}
			}
		}
	}
	if v := query.Get("api-version"); v != endpointAPIVersion {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, "api-version must be " + endpointAPIVersion}
	}
	if _, ok := query["resource"]; !ok {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, "the resource parameter is required"}
	}
	res, err := CanonicalResource(query.Get("resource"))
	if err != nil {
		return tokenRequest{}, &errorReply{http.StatusBadRequest, err.Error()}
	}
	r := tokenRequest{resource: res}
	for _, k := range identitySelectors {
		if v, ok := query[k]; ok {
			if r.selectors == nil {
				r.selectors = make(map[string]string)
			}
			r.selectors[k] = v[0]
		}
	}
	return r, nil
}

// ServeHTTP implements the protocol.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1024)
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(headerName)), []byte(e.header)) != 1 {
		e.opts.Logger.Warn("identity endpoint: request without the right header refused", "caller", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "missing or wrong "+headerName+" header")
		return
	}
	req, err := parseTokenRequest(r.Method, r.URL.Path, r.URL.RawQuery)
	if err == nil {
		err = e.authorize(req)
	}
	if err != nil {
		var er *errorReply
		errors.As(err, &er)
		e.opts.Logger.Warn("identity endpoint: request refused", "caller", r.RemoteAddr, "status", er.status, "reason", er.msg)
		writeError(w, er.status, er.msg)
		return
	}
	e.issue(w, r, req)
}

// authorize refuses other identities and resources outside --allow-scope.
// req.resource is canonical, and the allowed resources were made canonical
// by StartEndpoint, so the comparison sees exactly what issue will ask for.
func (e *Endpoint) authorize(req tokenRequest) error {
	for _, k := range identitySelectors {
		v, ok := req.selectors[k]
		if !ok {
			continue
		}
		var own string
		switch k {
		case "client_id":
			own = e.opts.ClientID
		case "object_id", "principal_id":
			own = e.opts.ObjectID
		default:
			return &errorReply{http.StatusBadRequest, k + " is not supported: azexec serves one identity"}
		}
		if !sameID(v, own) {
			return &errorReply{http.StatusBadRequest, k + " does not name the identity azexec resolved"}
		}
	}
	if len(e.allow) == 0 {
		return nil
	}
	for _, a := range e.allow {
		if sameResource(req.resource, a) {
			return nil
		}
	}
	return &errorReply{http.StatusForbidden, "resource is not in azexec's --allow-scope list"}
}

// issue fetches (or reuses) the token and answers in the protocol's form.
func (e *Endpoint) issue(w http.ResponseWriter, r *http.Request, req tokenRequest) {
	tok, err := e.opts.Credential.GetToken(r.Context(), policy.TokenRequestOptions{Scopes: []string{resourceScope(req.resource)}})
	if err != nil {
		e.opts.Logger.Error("identity endpoint: no token", "resource", req.resource, "caller", r.RemoteAddr, "error", firstLineOf(err.Error()))
		writeError(w, http.StatusInternalServerError, "azexec could not get a token for this resource; see azexec's log")
		return
	}
	e.opts.Logger.Info("identity endpoint: token issued", "resource", req.resource, "caller", r.RemoteAddr,
		"expires_on", tok.ExpiresOn.UTC().Format(time.RFC3339))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": tok.Token,
		"expires_on":   strconv.FormatInt(tok.ExpiresOn.Unix(), 10),
		"resource":     req.resource,
		"token_type":   "Bearer",
		"client_id":    e.opts.ClientID,
	})
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

// bootstrapSecrets are the variables that carry a long-lived credential,
// or point an SDK at another identity source. Modes that hand the child a
// narrower credential remove them all.
var bootstrapSecrets = []string{
	"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
	"AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "AZURE_USERNAME", "AZURE_PASSWORD",
	"AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTH_LOCATION", "ARM_CLIENT_SECRET",
	"ARM_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PASSWORD", "ARM_OIDC_TOKEN", "ARM_OIDC_TOKEN_FILE_PATH",
	"MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
	"IMDS_ENDPOINT", "AZURE_TOKEN_CREDENTIALS",
	// azexec's own secrets (AlwaysRemoved: the keyring passphrase, a CI
	// job's request credentials) are removed in every mode, and here too.
}

// RemoveBootstrapSecrets deletes every variable that carries a long-lived
// credential or selects another identity source, and returns the names
// removed, for the log.
func RemoveBootstrapSecrets(env *Env) []string {
	removed := RemoveAzexecSecrets(env)
	for _, k := range bootstrapSecrets {
		if _, ok := env.Get(k); ok {
			env.Unset(k)
			removed = append(removed, k)
		}
	}
	return removed
}

// Apply gives the child this endpoint: the bootstrap secrets go, and
// IDENTITY_ENDPOINT and IDENTITY_HEADER make every SDK's
// DefaultAzureCredential reach its managed identity credential, which then
// picks App Service's protocol. AZURE_CLIENT_ID stays only when it names
// the resolved identity, since the Go and Python SDKs send it as the
// user-assigned client_id. It returns the names removed.
func (e *Endpoint) Apply(env *Env) []string {
	removed := RemoveBootstrapSecrets(env)
	if v, ok := env.Get("AZURE_CLIENT_ID"); ok && !sameID(v, e.opts.ClientID) {
		env.Unset("AZURE_CLIENT_ID")
		removed = append(removed, "AZURE_CLIENT_ID")
	}
	env.Set("IDENTITY_ENDPOINT", e.URL, azexecOrigin)
	env.Set("IDENTITY_HEADER", e.header, azexecOrigin)
	return removed
}
