package fakeazure

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

type vault struct {
	name    string
	url     string
	secrets map[string]*secret // lower-case name
	deny    map[string]bool    // lower-case object ids
	limit   *bucket            // LimitVault's rate limit; nil for none
}

type secret struct {
	name     string
	versions []*secretVersion // latest last
}

type secretVersion struct {
	version string
	value   string
	enabled bool
	created time.Time
	updated time.Time
}

func validVaultName(name string) bool {
	if name == "" || len(name) > 24 {
		return false
	}
	for _, c := range name {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// AddVault starts a Key Vault named name on its own HTTPS origin (a new
// loopback port, same CA) and returns its URL, e.g.
// https://127.0.0.1:43127, without a trailing slash. Names are
// case-insensitive and use letters, digits and hyphens.
//
// The vault serves GET /secrets/{name}[/{version}]?api-version=... with
// Key Vault's challenge flow: a request without a token gets 401 and
// WWW-Authenticate: Bearer authorization="<URL>/<home tenant>",
// resource="https://vault.azure.net"; a token the fake issued, for that
// audience and the home tenant, gets the secret. Clients must set
// DisableChallengeResourceVerification, since 127.0.0.1 is not a
// subdomain of vault.azure.net.
func (s *Server) AddVault(name string) (vaultURL string, err error) {
	if !validVaultName(name) {
		return "", fmt.Errorf("fakeazure: invalid vault name %q", name)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", errClosed
	}
	if _, ok := s.vaults[strings.ToLower(name)]; ok {
		s.mu.Unlock()
		return "", fmt.Errorf("fakeazure: vault %q exists", name)
	}
	s.mu.Unlock()

	ln, err := net.Listen("tcp", net.JoinHostPort(s.host, "0"))
	if err != nil {
		return "", fmt.Errorf("fakeazure: %v", err)
	}
	v := &vault{
		name:    name,
		url:     "https://" + ln.Addr().String(),
		secrets: map[string]*secret{},
		deny:    map[string]bool{},
	}
	s.mu.Lock()
	if _, ok := s.vaults[strings.ToLower(name)]; ok {
		s.mu.Unlock()
		_ = ln.Close()
		return "", fmt.Errorf("fakeazure: vault %q exists", name)
	}
	s.vaults[strings.ToLower(name)] = v
	s.mu.Unlock()
	if s.serveTLS(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.instrument(w, r, KindKV, func(w http.ResponseWriter, r *http.Request) { s.handleVault(w, r, v) })
	})) == nil {
		return "", errClosed
	}
	return v.url, nil
}

// VaultURL returns the URL of the vault named name, or "" if there is none.
func (s *Server) VaultURL(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.vaults[strings.ToLower(name)]; v != nil {
		return v.url
	}
	return ""
}

func (s *Server) vaultLocked(name string) (*vault, error) {
	v := s.vaults[strings.ToLower(name)]
	if v == nil {
		return nil, fmt.Errorf("fakeazure: no vault %q", name)
	}
	return v, nil
}

// SetSecret stores value as version version of secret name in vault (a
// random 32-hex-digit version if empty) and makes it the latest, enabled
// version. Setting an existing version replaces its value.
func (s *Server) SetSecret(vaultName, name, version, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.vaultLocked(vaultName)
	if err != nil {
		return err
	}
	if version == "" {
		version = randomHex(16)
	}
	sec := v.secrets[strings.ToLower(name)]
	if sec == nil {
		sec = &secret{name: name}
		v.secrets[strings.ToLower(name)] = sec
	}
	now := time.Now()
	created := now
	for i, sv := range sec.versions {
		if strings.EqualFold(sv.version, version) {
			created = sv.created
			sec.versions = append(sec.versions[:i], sec.versions[i+1:]...)
			break
		}
	}
	sec.versions = append(sec.versions, &secretVersion{version: version, value: value, enabled: true, created: created, updated: now})
	return nil
}

// RotateSecret adds a new version of secret name in vault, holding value,
// and makes it the current one, as `az keyvault secret set` does when a
// secret rotates: a read without a version now gets it, and every earlier
// version stays readable by its id. It returns the new version. Safe to
// call while requests are served, for tests that rotate a secret under a
// running program.
func (s *Server) RotateSecret(vaultName, name, value string) (version string, err error) {
	s.mu.Lock()
	v, err := s.vaultLocked(vaultName)
	if err == nil && v.find(name, "") == nil {
		err = fmt.Errorf("fakeazure: no secret %q in vault %q to rotate", name, vaultName)
	}
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	version = randomHex(16)
	return version, s.SetSecret(vaultName, name, version, value)
}

// DisableSecret disables one version of a secret (the latest if version is
// empty): reading it then answers 403 as Key Vault does.
func (s *Server) DisableSecret(vaultName, name, version string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.vaultLocked(vaultName)
	if err != nil {
		return err
	}
	sv := v.find(name, version)
	if sv == nil {
		return fmt.Errorf("fakeazure: no secret %q version %q in vault %q", name, version, vaultName)
	}
	sv.enabled = false
	sv.updated = time.Now()
	return nil
}

// DenyAccess makes vault answer 403 Forbidden to tokens of the identity
// with object id objectID (see ObjectID).
func (s *Server) DenyAccess(vaultName, objectID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.vaultLocked(vaultName)
	if err != nil {
		return err
	}
	v.deny[strings.ToLower(objectID)] = true
	return nil
}

// find returns a secret version, the latest if version is empty. s.mu must
// be held.
func (v *vault) find(name, version string) *secretVersion {
	sec := v.secrets[strings.ToLower(name)]
	if sec == nil || len(sec.versions) == 0 {
		return nil
	}
	if version == "" {
		return sec.versions[len(sec.versions)-1]
	}
	for _, sv := range sec.versions {
		if strings.EqualFold(sv.version, version) {
			return sv
		}
	}
	return nil
}

func kvError(w http.ResponseWriter, status int, code, msg string, inner string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// handleVault answers one vault's requests.
func (s *Server) handleVault(w http.ResponseWriter, r *http.Request, v *vault) {
	w.Header().Set("x-ms-keyvault-service-version", "1.9.0.0")
	w.Header().Set("x-ms-request-id", randomUUID())
	if s.rateLimited(w, r, v) {
		return
	}
	challenge := func(code, msg string) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, s.URL, s.opts.Tenant, VaultAudience))
		kvError(w, http.StatusUnauthorized, code, msg, "")
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/secrets/")
	if !ok {
		kvError(w, http.StatusNotFound, "NotFound", "fakeazure vaults serve only GET /secrets/{name}[/{version}].", "")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		kvError(w, http.StatusBadRequest, "BadParameter", "The request URI contains an invalid or missing api-version.", "")
		return
	}
	tok := bearer(r)
	if tok == "" {
		challenge("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	ti := s.lookupToken(tok)
	switch {
	case ti == nil:
		challenge("Unauthorized", "Token validation failed: the token was not issued by this authority.")
		return
	case !sameAudience(ti.aud, VaultAudience):
		challenge("Unauthorized", fmt.Sprintf("AKV10022: Invalid audience. Expected %s, found: %s.", VaultAudience, ti.aud))
		return
	case !strings.EqualFold(ti.tenant, s.opts.Tenant):
		challenge("Unauthorized", fmt.Sprintf("AKV10032: Invalid issuer. Expected one of %s/%s/v2.0, found %s/%s/v2.0.", s.URL, s.opts.Tenant, s.URL, ti.tenant))
		return
	case time.Now().After(ti.expires):
		challenge("Unauthorized", "Token validation failed: the token is expired.")
		return
	}
	if r.Method != http.MethodGet {
		kvError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "fakeazure vaults serve only GET.", "")
		return
	}
	parts := strings.Split(rest, "/")
	name, version := parts[0], ""
	if len(parts) > 1 {
		version = parts[1]
	}
	if name == "" || len(parts) > 2 && !(len(parts) == 3 && parts[2] == "") {
		kvError(w, http.StatusBadRequest, "BadParameter", "The request URI is not valid for a secret.", "")
		return
	}

	s.mu.Lock()
	denied := v.deny[strings.ToLower(ti.oid)]
	sv := v.find(name, version)
	var got secretVersion
	var secName string
	if sv != nil {
		got = *sv
		secName = v.secrets[strings.ToLower(name)].name
	}
	s.mu.Unlock()

	if denied {
		kvError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf(
			"Caller is not authorized to perform action on resource.\r\n"+
				"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n"+
				"Caller: appid=%s;oid=%s;iss=%s/%s/v2.0\r\n"+
				"Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n"+
				"Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/fakeazure/providers/microsoft.keyvault/vaults/%s/secrets/%s'\r\n"+
				"Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: %s;location=fakeazure\r\n",
			ti.clientID, ti.oid, s.URL, ti.tenant, strings.ToLower(v.name), strings.ToLower(name), v.name), "ForbiddenByRbac")
		return
	}
	if sv == nil {
		id := name
		if version != "" {
			id += "/" + version
		}
		kvError(w, http.StatusNotFound, "SecretNotFound", fmt.Sprintf(
			"A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able "+
				"to recover it using the correct recovery command.", id), "")
		return
	}
	if !got.enabled {
		kvError(w, http.StatusForbidden, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"value": got.value,
		"id":    v.url + "/secrets/" + secName + "/" + got.version,
		"attributes": map[string]any{
			"enabled":         true,
			"created":         got.created.Unix(),
			"updated":         got.updated.Unix(),
			"recoveryLevel":   "Recoverable+Purgeable",
			"recoverableDays": 90,
		},
		"tags": map[string]string{},
	})
}
