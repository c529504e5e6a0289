package fakeazure

// This file holds the CI OIDC issuers: a GitHub Actions-style one and an
// Azure DevOps-style one, each signing short-lived ID tokens with a key of
// its own, and the token endpoint's check of such a token presented as a
// federated client assertion (federated identity credentials: issuer,
// subject, audience).

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request kinds of the OIDC issuers.
const (
	KindGitHubOIDC = "github-oidc" // GET ACTIONS_ID_TOKEN_REQUEST_URL&audience=A
	KindDevOpsOIDC = "devops-oidc" // POST SYSTEM_OIDCREQUESTURI?serviceConnectionId=ID
)

// DefaultOIDCTTL is the lifetime of the issuers' ID tokens unless set:
// GitHub's live for minutes.
const DefaultOIDCTTL = 5 * time.Minute

// FederatedCredential is a federated identity credential of an
// application: a token whose iss, sub and aud equal these (case matters)
// is accepted as the application's client assertion.
type FederatedCredential struct {
	Issuer, Subject, Audience string
}

// AddFederatedCredential registers fc for the application clientID in
// tenant (both created if new).
func (s *Server) AddFederatedCredential(tenant, clientID string, fc FederatedCredential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(tenant, clientID)
	a.fedCreds = append(a.fedCreds, fc)
}

// OIDCIssuer is a CI job's OIDC endpoint. Its exported fields are set when
// it is added and must not be changed.
type OIDCIssuer struct {
	// Issuer is the iss of its tokens.
	Issuer string
	// RequestURL is where a job asks for a token: the value of
	// ACTIONS_ID_TOKEN_REQUEST_URL (with a query, as GitHub's has) or of
	// SYSTEM_OIDCREQUESTURI.
	RequestURL string
	// RequestToken is the bearer token the endpoint accepts: the value of
	// ACTIONS_ID_TOKEN_REQUEST_TOKEN or SYSTEM_ACCESSTOKEN.
	RequestToken string

	s    *Server
	kind string
	key  *rsa.PrivateKey

	mu      sync.Mutex
	ttl     time.Duration
	subject string            // GitHub: the job's sub
	conns   map[string]string // DevOps: service connection id -> sub
}

// AddGitHubIssuer starts serving a GitHub Actions-style OIDC endpoint for
// one job, whose tokens carry subject (e.g. repo:ORG/REPO:ref:refs/heads/main)
// and the audience the request names, and live ttl (DefaultOIDCTTL if
// zero). Its issuer is like a GitHub Enterprise one:
// https://token.actions.githubusercontent.com/<random>.
func (s *Server) AddGitHubIssuer(subject string, ttl time.Duration) *OIDCIssuer {
	id := randomHex(8)
	return s.addIssuer(&OIDCIssuer{
		Issuer:     "https://token.actions.githubusercontent.com/" + id,
		RequestURL: s.URL + "/_oidc/github/" + id + "/idtoken?api-version=2.0",
		kind:       KindGitHubOIDC, subject: subject, ttl: ttl,
	})
}

// AddDevOpsIssuer starts serving an Azure DevOps-style OIDC endpoint for
// one pipeline job. Its tokens have audience api://AzureADTokenExchange
// and, per service connection (AddServiceConnection), the subject
// sc://ORG/PROJECT/NAME; they live ttl (DefaultOIDCTTL if zero). Its
// issuer is https://vstoken.dev.azure.com/<organization id>.
func (s *Server) AddDevOpsIssuer(ttl time.Duration) *OIDCIssuer {
	id := randomUUID()
	return s.addIssuer(&OIDCIssuer{
		Issuer:     "https://vstoken.dev.azure.com/" + id,
		RequestURL: s.URL + "/_oidc/devops/" + id + "/oidctoken",
		kind:       KindDevOpsOIDC, ttl: ttl, conns: map[string]string{},
	})
}

func (s *Server) addIssuer(o *OIDCIssuer) *OIDCIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	o.s, o.key, o.RequestToken = s, key, "req-"+randomB64(48)
	if o.ttl <= 0 {
		o.ttl = DefaultOIDCTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issuers == nil {
		s.issuers = map[string]*OIDCIssuer{}
	}
	s.issuers[o.Issuer] = o
	return o
}

// AddServiceConnection makes a DevOps issuer answer for service
// connection id with tokens whose subject is subject.
func (o *OIDCIssuer) AddServiceConnection(id, subject string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.conns[strings.ToLower(id)] = subject
}

// SetTTL changes the lifetime of the tokens issued from now on.
func (o *OIDCIssuer) SetTTL(ttl time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ttl = ttl
}

// Mint signs a token of this issuer with any subject and audience, valid
// for ttl (negative: already expired), without a request.
func (o *OIDCIssuer) Mint(subject, audience string, ttl time.Duration) string {
	now := time.Now()
	c := map[string]any{
		"iss": o.Issuer, "sub": subject, "aud": audience, "jti": randomUUID(),
		"iat": now.Unix(), "nbf": now.Add(-5 * time.Second).Unix(), "exp": now.Add(ttl).Unix(),
	}
	if o.kind == KindGitHubOIDC {
		c["repository"], c["ref"], c["runner_environment"] = "fake/repo", "refs/heads/main", "github-hosted"
	}
	hb, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": o.Issuer})
	cb, _ := json.Marshal(c)
	signed := b64(hb) + "." + b64(cb)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	tok := signed + "." + b64(sig)
	o.s.mu.Lock()
	o.s.assertions = append(o.s.assertions, tok)
	o.s.mu.Unlock()
	return tok
}

// IssuedAssertions returns every ID token the OIDC issuers signed, oldest
// first, so a test can check that none appears in output.
func (s *Server) IssuedAssertions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.assertions...)
}

// handleOIDC serves /_oidc/{github|devops}/{id}/...
func (s *Server) handleOIDC(w http.ResponseWriter, r *http.Request, o *OIDCIssuer) {
	if o == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such OIDC endpoint"})
		return
	}
	if bearer(r) != o.RequestToken {
		// GitHub and Azure DevOps (with X-TFS-FedAuthRedirect: Suppress)
		// answer a bad request token with 401.
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "the request token is not valid"})
		return
	}
	o.mu.Lock()
	ttl, subject := o.ttl, o.subject
	o.mu.Unlock()
	q := r.URL.Query()
	switch o.kind {
	case KindGitHubOIDC:
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use GET"})
			return
		}
		aud := q.Get("audience")
		if aud == "" {
			aud = "https://github.com/fake" // GitHub's default: the owner's URL
		}
		writeJSON(w, http.StatusOK, map[string]any{"count": 1, "value": o.Mint(subject, aud, ttl)})
	case KindDevOpsOIDC:
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use POST"})
			return
		}
		if q.Get("api-version") == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "api-version is required"})
			return
		}
		o.mu.Lock()
		sub, ok := o.conns[strings.ToLower(q.Get("serviceConnectionId"))]
		o.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "service connection not found or not authorized for this pipeline"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"oidcToken": o.Mint(sub, "api://AzureADTokenExchange", ttl)})
	}
}

// issuerOf returns the registered issuer of a JWT assertion by its iss,
// or nil (not a JWT, or another issuer).
func (s *Server) issuerOf(assertion string) (*OIDCIssuer, map[string]any) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, nil
	}
	cb, err := decodeB64(parts[1])
	if err != nil {
		return nil, nil
	}
	var c map[string]any
	if json.Unmarshal(cb, &c) != nil {
		return nil, nil
	}
	iss, _ := c["iss"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issuers[iss], c
}

// checkFederated verifies a federated assertion from a registered issuer as
// Entra ID does: signature, time, then a federated credential of the
// application with the same issuer, subject and audience. Unlike Entra ID,
// a mismatch names what the application's credentials expect, so a test
// (and a reader of its log) sees both sides.
func checkFederated(assertion string, o *OIDCIssuer, c map[string]any, a *app) *aadErr {
	parts := strings.Split(assertion, ".")
	sig, err := decodeB64(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&o.key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 50013, "Assertion failed signature validation."}
	}
	now := time.Now().Unix()
	exp, _ := c["exp"].(float64)
	nbf, _ := c["nbf"].(float64)
	if exp == 0 || now >= int64(exp) || now+300 < int64(nbf) {
		return &aadErr{http.StatusBadRequest, "invalid_client", 700024, fmt.Sprintf(
			"Client assertion is not within its valid time range. Current time: %s, expiry time of assertion %s.",
			time.Unix(now, 0).UTC().Format(time.RFC3339), unixString(int64(exp)))}
	}
	iss, _ := c["iss"].(string)
	sub, _ := c["sub"].(string)
	aud, _ := c["aud"].(string)
	var sameIss []FederatedCredential
	for _, fc := range a.fedCreds {
		if fc.Issuer == iss {
			if fc.Subject == sub && fc.Audience == aud {
				return nil
			}
			sameIss = append(sameIss, fc)
		}
	}
	expected := func(fcs []FederatedCredential) string {
		var parts []string
		for _, fc := range fcs {
			parts = append(parts, fmt.Sprintf("issuer '%s', subject '%s', audience '%s'", fc.Issuer, fc.Subject, fc.Audience))
		}
		if len(parts) == 0 {
			return " The application has no federated identity credential."
		}
		return " The application's federated identity credentials expect: " + strings.Join(parts, "; ") + "."
	}
	const check = " Please check your federated identity credential Subject, Audience and Issuer against the presented assertion."
	switch {
	case len(sameIss) == 0:
		return &aadErr{http.StatusBadRequest, "invalid_request", 700211, fmt.Sprintf(
			"No matching federated identity record found for presented assertion issuer '%s'.%s%s", iss, check, expected(a.fedCreds))}
	case !hasSubject(sameIss, sub):
		return &aadErr{http.StatusBadRequest, "invalid_request", 700213, fmt.Sprintf(
			"No matching federated identity record found for presented assertion subject '%s'.%s%s", sub, check, expected(sameIss))}
	default:
		return &aadErr{http.StatusBadRequest, "invalid_request", 700212, fmt.Sprintf(
			"No matching federated identity record found for presented assertion audience '%s'.%s%s", aud, check, expected(sameIss))}
	}
}

func hasSubject(fcs []FederatedCredential, sub string) bool {
	for _, fc := range fcs {
		if fc.Subject == sub {
			return true
		}
	}
	return false
}

// issuerAt returns the issuer of the given kind served at /_oidc/KIND/id.
func (s *Server) issuerAt(kind, id string) *OIDCIssuer {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.issuers {
		if o.kind == kind && strings.Contains(o.RequestURL, "/"+id+"/") {
			return o
		}
	}
	return nil
}
