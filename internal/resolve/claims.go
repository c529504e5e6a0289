package resolve

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// claims are the few token claims whoami shows. Access tokens are JWTs whose
// payload azexec reads without verifying: the token came straight from the
// identity provider over TLS, and the values are only displayed.
type claims struct {
	TenantID   string `json:"tid"`
	ObjectID   string `json:"oid"`
	AppID      string `json:"appid"`
	AZP        string `json:"azp"`
	UPN        string `json:"upn"`
	UniqueName string `json:"unique_name"`
	PreferredU string `json:"preferred_username"`
	IDType     string `json:"idtyp"`
}

// parseClaims decodes a JWT's payload. An opaque or malformed token gives
// empty claims, never an error: the identity was proven either way.
func parseClaims(token string) claims {
	var c claims
	if raw, ok := jwtPayload(token); ok {
		_ = json.Unmarshal(raw, &c)
	}
	return c
}

// jwtPayload returns the decoded payload of a JWT, unverified, or false
// for anything that is not three base64url parts.
func jwtPayload(token string) ([]byte, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	return raw, err == nil
}

func (c claims) clientID() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.AZP
}

func (c claims) user() string {
	for _, v := range []string{c.UPN, c.PreferredU, c.UniqueName} {
		if v != "" {
			return v
		}
	}
	return ""
}
