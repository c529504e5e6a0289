package fakeazure

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Subscription is a subscription Resource Manager lists for an identity.
type Subscription struct {
	ID          string // subscription id (a UUID)
	DisplayName string
	TenantID    string // empty means the tenant of the token that asks
	State       string // empty means "Enabled"
}

// SetSubscriptions replaces the subscriptions the identity with object id
// oid (see ObjectID) can see. Resource Manager lists those whose TenantID
// is empty or the token's tenant. Nobody has any by default.
func (s *Server) SetSubscriptions(oid string, subs ...Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[strings.ToLower(oid)] = append([]Subscription(nil), subs...)
}

var managementAudiences = []string{
	"https://management.azure.com/",
	"https://management.core.windows.net/",
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// handleARM serves GET /subscriptions and GET /subscriptions/{id}, which
// need a token the fake issued for Resource Manager (or for the fake's own
// URL, if a client was configured with it as the audience).
func (s *Server) handleARM(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", randomUUID())
	if r.URL.Query().Get("api-version") == "" {
		armError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	unauthorized := func(code, msg, desc string) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s/%s", error="invalid_token", error_description="%s"`, s.URL, s.opts.Tenant, desc))
		armError(w, http.StatusUnauthorized, code, msg)
	}
	tok := bearer(r)
	if tok == "" {
		unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
			"The authentication failed because of missing 'Authorization' header.")
		return
	}
	ti := s.lookupToken(tok)
	if ti == nil {
		unauthorized("InvalidAuthenticationToken", "The received access token is not valid: the token was not issued by this authority.",
			"The access token is invalid.")
		return
	}
	if time.Now().After(ti.expires) {
		unauthorized("ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.",
			"The access token has expired.")
		return
	}
	audOK := sameAudience(ti.aud, s.URL)
	for _, a := range managementAudiences {
		audOK = audOK || sameAudience(ti.aud, a)
	}
	if !audOK {
		unauthorized("InvalidAuthenticationTokenAudience", fmt.Sprintf(
			"The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences "+
				"'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
			ti.aud), "The access token has been obtained for wrong audience or resource.")
		return
	}
	if r.Method != http.MethodGet {
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "fakeazure serves only GET on subscriptions.")
		return
	}

	s.mu.Lock()
	var subs []Subscription
	for _, sub := range s.subs[strings.ToLower(ti.oid)] {
		if sub.TenantID == "" {
			sub.TenantID = ti.tenant
		}
		if sub.State == "" {
			sub.State = "Enabled"
		}
		if strings.EqualFold(sub.TenantID, ti.tenant) {
			subs = append(subs, sub)
		}
	}
	s.mu.Unlock()

	render := func(sub Subscription) map[string]any {
		return map[string]any{
			"id":                  "/subscriptions/" + sub.ID,
			"authorizationSource": "RoleBased",
			"managedByTenants":    []any{},
			"subscriptionId":      sub.ID,
			"tenantId":            sub.TenantID,
			"displayName":         sub.DisplayName,
			"state":               sub.State,
			"subscriptionPolicies": map[string]string{
				"locationPlacementId": "Public_2014-09-01",
				"quotaId":             "PayAsYouGo_2014-09-01",
				"spendingLimit":       "Off",
			},
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch len(parts) {
	case 1:
		list := []map[string]any{}
		for _, sub := range subs {
			list = append(list, render(sub))
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"value": list,
			"count": map[string]any{"type": "Total", "value": len(list)},
		})
	case 2:
		for _, sub := range subs {
			if strings.EqualFold(sub.ID, parts[1]) {
				writeJSON(w, http.StatusOK, render(sub))
				return
			}
		}
		armError(w, http.StatusNotFound, "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", parts[1]))
	default:
		armError(w, http.StatusNotFound, "NotFound", "fakeazure serves only /subscriptions and /subscriptions/{id}.")
	}
}
