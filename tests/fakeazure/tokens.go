package fakeazure

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// ObjectID returns the object id (the oid claim) of the identity clientID
// in tenant: a UUID derived from both, the same in every run, so tests can
// compute it before any token exists. Case does not matter.
func ObjectID(tenant, clientID string) string {
	h := sha256.Sum256([]byte("fakeazure/oid\x00" + strings.ToLower(tenant) + "\x00" + strings.ToLower(clientID)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// ObjectID is the package function ObjectID, for convenience.
func (s *Server) ObjectID(tenant, clientID string) string { return ObjectID(tenant, clientID) }

// tokenInfo is what the fake remembers of a token it issued.
type tokenInfo struct {
	tenant, clientID, oid, aud string
	expires                    time.Time
}

type claims struct {
	Aud      string `json:"aud"`
	Iss      string `json:"iss"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	Appid    string `json:"appid"`
	Appidacr string `json:"appidacr"`
	Azp      string `json:"azp"`
	Azpacr   string `json:"azpacr"`
	Idtyp    string `json:"idtyp"`
	Oid      string `json:"oid"`
	Sub      string `json:"sub"`
	Tid      string `json:"tid"`
	Jti      string `json:"jti"`
	Uti      string `json:"uti"`
	Ver      string `json:"ver"`
}

// resourceOf turns a scope or resource into the audience of its token:
// a trailing "/.default" is removed.
func resourceOf(scope string) string {
	return strings.TrimSuffix(scope, "/.default")
}

// issue mints and records an access token. acr is "0" (managed identity),
// "1" (secret) or "2" (certificate or assertion).
func (s *Server) issue(tenant, clientID, resource, acr string, ttl time.Duration) (string, time.Time) {
	if ttl <= 0 {
		ttl = s.opts.TokenTTL
	}
	now := time.Now()
	exp := now.Add(ttl)
	oid := ObjectID(tenant, clientID)
	c := claims{
		Aud:      resourceOf(resource),
		Iss:      s.URL + "/" + tenant + "/v2.0",
		Iat:      now.Unix(),
		Nbf:      now.Unix(),
		Exp:      exp.Unix(),
		Appid:    clientID,
		Appidacr: acr,
		Azp:      clientID,
		Azpacr:   acr,
		Idtyp:    "app",
		Oid:      oid,
		Sub:      oid,
		Tid:      tenant,
		Jti:      randomUUID(),
		Uti:      randomB64(16),
		Ver:      "2.0",
	}
	header := map[string]string{"typ": "JWT", "alg": "RS256", "kid": "fakeazure"}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(c)
	tok := b64(hb) + "." + b64(cb) + "." + randomB64(256)

	s.mu.Lock()
	s.tokens[tok] = &tokenInfo{tenant: tenant, clientID: clientID, oid: oid, aud: c.Aud, expires: exp}
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	return tok, exp
}

// MintToken issues an access token for clientID in tenant with the audience
// resource ("/.default" is removed), valid for ttl (Options.TokenTTL if
// zero), without any request. The fake's vaults and Resource Manager
// accept it like any other, and IssuedTokens lists it. Tests use it to
// write fake az or azd programs.
func (s *Server) MintToken(tenant, clientID, resource string, ttl time.Duration) string {
	tok, _ := s.issue(tenant, clientID, resource, "1", ttl)
	return tok
}

// IssuedTokens returns every access token issued so far, oldest first, so
// a test can check that none of them appears in output or files.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// bearer returns the token of an "Authorization: Bearer" header, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// lookupToken returns what the fake knows of a token it issued, or nil.
func (s *Server) lookupToken(tok string) *tokenInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti, ok := s.tokens[tok]; ok {
		c := *ti
		return &c
	}
	return nil
}

// sameAudience compares audiences ignoring case and trailing slashes.
func sameAudience(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b64(b)
}
