package fakeazure

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- x5t is defined as a SHA-1 thumbprint
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

type tenant struct {
	id   string
	apps map[string]*app // lower-case client id
}

type app struct {
	secrets   []string
	certs     []*x509.Certificate
	federated []string
	fedCreds  []FederatedCredential // oidc.go
}

func newTenant(id string) *tenant { return &tenant{id: id, apps: map[string]*app{}} }

// appLocked returns the application, creating the tenant and the
// application as needed. s.mu must be held.
func (s *Server) appLocked(tenantID, clientID string) *app {
	t := s.tenants[strings.ToLower(tenantID)]
	if t == nil {
		t = newTenant(tenantID)
		s.tenants[strings.ToLower(tenantID)] = t
	}
	a := t.apps[strings.ToLower(clientID)]
	if a == nil {
		a = &app{}
		t.apps[strings.ToLower(clientID)] = a
	}
	return a
}

// AddServicePrincipal registers the application clientID in tenant (both
// created if new) and adds secret to its client secrets. An empty secret
// registers the application with no new secret. An application may have
// several secrets, certificates and federated credentials at once.
func (s *Server) AddServicePrincipal(tenant, clientID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(tenant, clientID)
	if secret != "" {
		a.secrets = append(a.secrets, secret)
	}
}

// AddCertificate registers cert as a credential of the application clientID
// in tenant (both created if new): client assertions whose x5t#S256 (or
// x5t) header names it and whose signature its public key verifies are
// accepted while it is valid.
func (s *Server) AddCertificate(tenant, clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(tenant, clientID)
	a.certs = append(a.certs, cert)
}

// AddFederated registers a federated credential for the application
// clientID in tenant (both created if new): a client assertion equal to
// assertion (the content of a workload identity token file) is accepted.
// The fake does not parse or check federated assertions otherwise.
func (s *Server) AddFederated(tenant, clientID, assertion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(tenant, clientID)
	a.federated = append(a.federated, assertion)
}

// aadErr is an error answered in the Entra ID JSON shape.
type aadErr struct {
	status int
	err    string
	code   int
	msg    string
}

func (s *Server) writeAADError(w http.ResponseWriter, r *http.Request, e *aadErr) {
	now := time.Now().UTC()
	ts := now.Format("2006-01-02 15:04:05Z")
	trace := randomUUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = randomUUID()
	}
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.code, e.msg, trace, corr, ts)
	body := struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		Codes         []int  `json:"error_codes"`
		Timestamp     string `json:"timestamp"`
		TraceID       string `json:"trace_id"`
		CorrelationID string `json:"correlation_id"`
		ErrorURI      string `json:"error_uri"`
	}{e.err, desc, []int{e.code}, ts, trace, corr, "https://" + r.Host + "/error?code=" + fmt.Sprint(e.code)}
	w.Header().Set("client-request-id", corr)
	w.Header().Set("x-ms-request-id", trace)
	writeJSON(w, e.status, body)
}

func tenantNotFound(id string) *aadErr {
	return &aadErr{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "+
			"Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", id)}
}

func (s *Server) knownTenant(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tenants[strings.ToLower(id)] != nil
}

// handleDiscovery answers GET /{tenant}/v2.0/.well-known/openid-configuration.
// MSAL requires authorization_endpoint, token_endpoint and issuer, and an
// issuer on the authority's scheme and host.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request, tenantID string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeAADError(w, r, &aadErr{http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts GET requests."})
		return
	}
	if !s.knownTenant(tenantID) {
		e := tenantNotFound(tenantID)
		e.err = "invalid_tenant"
		s.writeAADError(w, r, e)
		return
	}
	base := "https://" + r.Host + "/" + tenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"tenant_region_scope":                   "NA",
		"cloud_instance_name":                   "fakeazure",
	})
}

// handleToken answers POST /{tenant}/oauth2/v2.0/token for the
// client_credentials grant.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, tenantID string) {
	if r.Method != http.MethodPost {
		s.writeAADError(w, r, &aadErr{http.StatusMethodNotAllowed, "invalid_request", 900561,
			fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method)})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.writeAADError(w, r, &aadErr{http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."})
		return
	}
	tokenEndpoint := "https://" + r.Host + r.URL.Path
	tokenID, acr, e := s.authenticate(r.PostForm, tenantID, tokenEndpoint)
	if e != nil {
		s.writeAADError(w, r, e)
		return
	}
	noteEntry(r, func(e *Request) { e.Scope = r.PostForm.Get("scope") })
	resource := resourceOfScopes(r.PostForm.Get("scope"))
	tok, exp := s.issue(tokenID.tenant, tokenID.clientID, resource, acr, 0)
	secs := int(time.Until(exp).Round(time.Second).Seconds())
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   tok,
	})
}

type identity struct{ tenant, clientID string }

// resourceOfScopes returns the one resource scope of a space-separated
// scope list, ignoring the OpenID scopes MSAL always adds.
func resourceOfScopes(scope string) string {
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		return sc
	}
	return ""
}

// authenticate checks a client_credentials request and returns the
// identity, its authentication method reference ("1" secret, "2"
// assertion) or the Entra ID error.
func (s *Server) authenticate(form map[string][]string, tenantID, tokenEndpoint string) (identity, string, *aadErr) {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	missing := func(p string) *aadErr {
		return &aadErr{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf("The request body must contain the following parameter: '%s'.", p)}
	}

	s.mu.Lock()
	t := s.tenants[strings.ToLower(tenantID)]
	var a *app
	var canonicalTenant string
	if t != nil {
		canonicalTenant = t.id
		if ap := t.apps[strings.ToLower(get("client_id"))]; ap != nil {
			c := *ap // the slices are only ever appended to
			a = &c
		}
	}
	s.mu.Unlock()

	if t == nil {
		return identity{}, "", tenantNotFound(tenantID)
	}
	grant := get("grant_type")
	if grant == "" {
		return identity{}, "", missing("grant_type")
	}
	if grant != "client_credentials" {
		return identity{}, "", &aadErr{http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant)}
	}
	clientID := get("client_id")
	if clientID == "" {
		return identity{}, "", missing("client_id")
	}
	if a == nil {
		return identity{}, "", &aadErr{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been "+
				"installed by the administrator of the tenant or consented to by any user in the tenant. "+
				"You may have sent your authentication request to the wrong tenant.", clientID, tenantID)}
	}
	scope := get("scope")
	if scope == "" {
		return identity{}, "", missing("scope")
	}
	if res := resourceOfScopes(scope); res == "" || !strings.HasSuffix(res, "/.default") {
		return identity{}, "", &aadErr{http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default "+
				"suffixed to the resource identifier (application ID URI).", res)}
	}
	id := identity{canonicalTenant, clientID}

	if secret := get("client_secret"); secret != "" {
		if slices.Contains(a.secrets, secret) {
			return id, "1", nil
		}
		return identity{}, "", &aadErr{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
				"not the client secret ID, for a secret added to app '%s'.", clientID)}
	}
	assertion := get("client_assertion")
	if assertion == "" {
		return identity{}, "", &aadErr{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	if at := get("client_assertion_type"); at != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return identity{}, "", &aadErr{http.StatusBadRequest, "invalid_request", 50027,
			fmt.Sprintf("Invalid client_assertion_type '%s'.", at)}
	}
	if slices.Contains(a.federated, assertion) {
		return id, "2", nil
	}
	if iss, claims := s.issuerOf(assertion); iss != nil {
		if e := checkFederated(assertion, iss, claims, a); e != nil {
			return identity{}, "", e
		}
		return id, "2", nil
	}
	if e := checkCertAssertion(assertion, a, clientID, tokenEndpoint); e != nil {
		return identity{}, "", e
	}
	return id, "2", nil
}

// checkCertAssertion verifies a client assertion signed with a
// certificate's key, as MSAL builds it: header alg PS256 (RS256 for ADFS)
// with x5t#S256 (x5t) holding the standard base64 of the certificate's
// SHA-256 (SHA-1) thumbprint; claims aud = token endpoint, iss = sub =
// client id, nbf, exp, jti.
func checkCertAssertion(assertion string, a *app, clientID, tokenEndpoint string) *aadErr {
	malformed := func(why string) *aadErr {
		if len(a.federated) > 0 || len(a.fedCreds) > 0 {
			return &aadErr{http.StatusBadRequest, "invalid_request", 70021,
				"No matching federated identity record found for presented assertion."}
		}
		return &aadErr{http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed. " + why}
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return malformed("The assertion is not a JWS.")
	}
	hb, err1 := decodeB64(parts[0])
	cb, err2 := decodeB64(parts[1])
	sig, err3 := decodeB64(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return malformed("The assertion is not base64url.")
	}
	var hdr struct {
		Alg    string `json:"alg"`
		X5t    string `json:"x5t"`
		X5tS56 string `json:"x5t#S256"`
	}
	if json.Unmarshal(hb, &hdr) != nil {
		return malformed("The header is not JSON.")
	}
	var thumb []byte
	var sum func([]byte) []byte
	switch {
	case hdr.X5tS56 != "":
		thumb, _ = decodeB64(hdr.X5tS56)
		sum = func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	case hdr.X5t != "":
		thumb, _ = decodeB64(hdr.X5t)
		sum = func(b []byte) []byte { h := sha1.Sum(b); return h[:] } // #nosec G401
	default:
		return malformed("The header has no x5t#S256 or x5t.")
	}
	var cert *x509.Certificate
	for _, c := range a.certs {
		if string(sum(c.Raw)) == string(thumb) {
			cert = c
			break
		}
	}
	if cert == nil {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"The certificate with identifier used to sign the client assertion is not registered on application. "+
				"[Reason - The key was not found., Thumbprint of key used by client: '%s', "+
				"Please check the keys configured for app Id '%s'.]", strings.ToUpper(hex.EncodeToString(thumb)), clientID)}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key is not an RSA key.]"}
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var verr error
	switch hdr.Alg {
	case "PS256":
		verr = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		verr = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	default:
		return malformed(fmt.Sprintf("Unsupported alg '%s'.", hdr.Alg))
	}
	if verr != nil {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 700027,
			"Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]"}
	}
	now := time.Now()
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf(
			"Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '%s']",
			strings.ToUpper(hex.EncodeToString(thumb)))}
	}
	var c struct {
		Aud any             `json:"aud"`
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Exp json.Number     `json:"exp"`
		Nbf json.Number     `json:"nbf"`
		Jti json.RawMessage `json:"jti"`
	}
	if json.Unmarshal(cb, &c) != nil {
		return malformed("The claims are not JSON.")
	}
	if !strings.EqualFold(c.Iss, clientID) || !strings.EqualFold(c.Sub, clientID) {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 700021, fmt.Sprintf(
			"Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at "+
				"https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials . iss '%s', sub '%s', client_id '%s'.",
			c.Iss, c.Sub, clientID)}
	}
	if !audienceMatches(c.Aud, tokenEndpoint) {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 50027, fmt.Sprintf(
			"JWT token is invalid or malformed. The client assertion's audience is not the token endpoint '%s'.", tokenEndpoint)}
	}
	exp, errE := c.Exp.Int64()
	nbf, errN := c.Nbf.Int64()
	if errE != nil || (errN != nil && c.Nbf != "") || now.Unix() >= exp || (c.Nbf != "" && now.Unix()+300 < nbf) {
		return &aadErr{http.StatusUnauthorized, "invalid_client", 700024, fmt.Sprintf(
			"Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(time.RFC3339), unixString(nbf), unixString(exp))}
	}
	return nil
}

func unixString(n int64) string {
	if n == 0 {
		return "(none)"
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

// audienceMatches accepts the token endpoint itself (what MSAL sends).
func audienceMatches(aud any, tokenEndpoint string) bool {
	var auds []string
	switch v := aud.(type) {
	case string:
		auds = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	for _, a := range auds {
		if strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(tokenEndpoint, "/")) {
			return true
		}
	}
	return false
}

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
