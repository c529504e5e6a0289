package fakeazure

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// KindACR is the request kind of every request to a registry.
const KindACR = "acr"

// ACRAudience is the audience of Entra tokens meant for Azure Container
// Registry alone, in every cloud. Registries also accept Resource
// Manager's audience unless "authentication-as-arm" is disabled.
const ACRAudience = "https://containerregistry.azure.net"

// ACRRefreshTokenTTL is the lifetime of the refresh tokens a registry
// issues: three hours, as ACR's.
const ACRRefreshTokenTTL = 3 * time.Hour

type registry struct {
	name, host string
	armAllowed bool            // authentication-as-arm enabled (the default)
	deny       map[string]bool // lower-case object ids
	refresh    []string        // refresh tokens issued, oldest first
}

// AddRegistry starts an Azure Container Registry named name on its own
// HTTPS origin (a new loopback port, same CA) and returns its host,
// e.g. 127.0.0.1:43127: the registry's "login server", which clients send
// as the exchange's service. Names are case-insensitive letters and digits.
//
// The registry serves POST /oauth2/exchange as ACR does for `az acr login`:
// a form with grant_type=access_token, service (the host), tenant and
// access_token, where the access token must be one the fake issued, not
// expired, for the ACR audience (or Resource Manager's, see
// DisableARMAudience) and the tenant named. It answers
// {"refresh_token": "..."}, a JWT-shaped token that IssuedTokens and
// RegistryTokens list. Errors have ACR's {"errors":[{code, message}]}
// shape: 400 for a malformed request, 401 for a token it refuses.
func (s *Server) AddRegistry(name string) (host string, err error) {
	if !validRegistryName(name) {
		return "", fmt.Errorf("fakeazure: invalid registry name %q", name)
	}
	s.mu.Lock()
	_, exists := s.registries[strings.ToLower(name)]
	closed := s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return "", errClosed
	case exists:
		return "", fmt.Errorf("fakeazure: registry %q exists", name)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(s.host, "0"))
	if err != nil {
		return "", fmt.Errorf("fakeazure: %v", err)
	}
	reg := &registry{name: name, host: ln.Addr().String(), armAllowed: true, deny: map[string]bool{}}
	s.mu.Lock()
	if s.registries == nil {
		s.registries = map[string]*registry{}
	}
	if _, ok := s.registries[strings.ToLower(name)]; ok {
		s.mu.Unlock()
		_ = ln.Close()
		return "", fmt.Errorf("fakeazure: registry %q exists", name)
	}
	s.registries[strings.ToLower(name)] = reg
	s.mu.Unlock()
	if s.serveTLS(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.instrument(w, r, KindACR, func(w http.ResponseWriter, r *http.Request) { s.handleRegistry(w, r, reg) })
	})) == nil {
		return "", errClosed
	}
	return reg.host, nil
}

func validRegistryName(name string) bool {
	if len(name) < 5 || len(name) > 50 {
		return false
	}
	for _, c := range name {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (s *Server) registryLocked(name string) (*registry, error) {
	reg := s.registries[strings.ToLower(name)]
	if reg == nil {
		return nil, fmt.Errorf("fakeazure: no registry %q", name)
	}
	return reg, nil
}

// DenyRegistry makes the registry refuse (401) the tokens of the identity
// with object id objectID (see ObjectID), as ACR refuses an identity with
// no role on it.
func (s *Server) DenyRegistry(name, objectID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	reg, err := s.registryLocked(name)
	if err != nil {
		return err
	}
	reg.deny[strings.ToLower(objectID)] = true
	return nil
}

// DisableARMAudience makes the registry accept only tokens for
// ACRAudience, as `az acr config authentication-as-arm update --status
// disabled` does.
func (s *Server) DisableARMAudience(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	reg, err := s.registryLocked(name)
	if err != nil {
		return err
	}
	reg.armAllowed = false
	return nil
}

// RegistryTokens returns the refresh tokens the registry has issued, oldest
// first.
func (s *Server) RegistryTokens(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reg := s.registries[strings.ToLower(name)]; reg != nil {
		return append([]string(nil), reg.refresh...)
	}
	return nil
}

func acrError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"code": code, "message": msg, "detail": nil}}})
}

// handleRegistry answers one registry's requests.
func (s *Server) handleRegistry(w http.ResponseWriter, r *http.Request, reg *registry) {
	if r.URL.Path != "/oauth2/exchange" {
		acrError(w, http.StatusNotFound, "NOT_FOUND", "fakeazure registries serve only POST /oauth2/exchange.")
		return
	}
	if r.Method != http.MethodPost {
		acrError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		acrError(w, http.StatusBadRequest, "BAD_REQUEST", "The request body is not a form.")
		return
	}
	form := r.PostForm
	if len(r.URL.Query()) > 0 {
		// ACR reads the form; a token in the URL would end up in logs.
		acrError(w, http.StatusBadRequest, "BAD_REQUEST", "Parameters belong in the form body, not the query string.")
		return
	}
	if g := form.Get("grant_type"); g != "access_token" {
		acrError(w, http.StatusBadRequest, "UNSUPPORTED", fmt.Sprintf("grant_type %q is not supported; use access_token.", g))
		return
	}
	if svc := form.Get("service"); !strings.EqualFold(svc, reg.host) {
		acrError(w, http.StatusBadRequest, "BAD_REQUEST", fmt.Sprintf("The service %q is not this registry's login server.", svc))
		return
	}
	unauthorized := func(msg string) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s/oauth2/exchange",service="%s"`, reg.host, reg.host))
		acrError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg)
	}
	tok := form.Get("access_token")
	if tok == "" {
		unauthorized("authentication required, visit https://aka.ms/acr/authorization for more information.")
		return
	}
	ti := s.lookupToken(tok)
	tenant := form.Get("tenant")
	s.mu.Lock()
	armAllowed := reg.armAllowed
	denied := ti != nil && reg.deny[strings.ToLower(ti.oid)]
	s.mu.Unlock()
	audOK := ti != nil && sameAudience(ti.aud, ACRAudience)
	if ti != nil && armAllowed {
		for _, a := range managementAudiences {
			audOK = audOK || sameAudience(ti.aud, a)
		}
	}
	switch {
	case ti == nil:
		unauthorized("The access token is not valid: it was not issued by this authority.")
		return
	case time.Now().After(ti.expires):
		unauthorized("The access token has expired.")
		return
	case !audOK:
		unauthorized(fmt.Sprintf("The access token has the wrong audience %q.", ti.aud))
		return
	case tenant == "" || !strings.EqualFold(tenant, ti.tenant):
		unauthorized(fmt.Sprintf("The access token's tenant does not match the tenant %q.", tenant))
		return
	case denied:
		unauthorized("authentication required, visit https://aka.ms/acr/authorization for more information.")
		return
	}
	refresh := s.issueRefreshToken(reg, ti)
	writeJSON(w, http.StatusOK, map[string]string{"refresh_token": refresh})
}

// issueRefreshToken mints a JWT-shaped registry refresh token (junk
// signature) with the claims ACR's carry, and records it.
func (s *Server) issueRefreshToken(reg *registry, ti *tokenInfo) string {
	now := time.Now()
	claims := map[string]any{
		"jti":        randomUUID(),
		"sub":        ti.oid,
		"nbf":        now.Unix(),
		"exp":        now.Add(ACRRefreshTokenTTL).Unix(),
		"iat":        now.Unix(),
		"iss":        "Azure Container Registry",
		"aud":        reg.host,
		"version":    "1.0",
		"grant_type": "refresh_token",
		"tenant":     ti.tenant,
	}
	hb, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "fakeazure-acr"})
	cb, _ := json.Marshal(claims)
	tok := b64(hb) + "." + b64(cb) + "." + randomB64(256)
	s.mu.Lock()
	s.issued = append(s.issued, tok)
	reg.refresh = append(reg.refresh, tok)
	s.mu.Unlock()
	return tok
}
