package fakeazure

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type userMI struct{ clientID, resourceID string }

// AddUserAssignedIdentity makes a user-assigned managed identity available
// on the App Service and IMDS endpoints, in the home tenant. Requests name
// it by client_id, object_id (ObjectID(Tenant(), clientID)) or, when
// resourceID is not empty, by mi_res_id / msi_res_id.
func (s *Server) AddUserAssignedIdentity(clientID, resourceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userMIs = append(s.userMIs, userMI{clientID, resourceID})
}

// resolveMI returns the client id of the managed identity a request names,
// the system-assigned one if it names none, and false if it names an
// unknown one.
func (s *Server) resolveMI(q url.Values) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := append([]userMI{{clientID: s.opts.MIClientID}}, s.userMIs...)
	match := func(f func(userMI) bool) (string, bool) {
		for _, id := range ids {
			if f(id) {
				return id.clientID, true
			}
		}
		return "", false
	}
	if v := q.Get("client_id"); v != "" {
		return match(func(id userMI) bool { return strings.EqualFold(id.clientID, v) })
	}
	for _, k := range []string{"object_id", "principal_id"} {
		if v := q.Get(k); v != "" {
			return match(func(id userMI) bool { return strings.EqualFold(ObjectID(s.opts.Tenant, id.clientID), v) })
		}
	}
	for _, k := range []string{"mi_res_id", "msi_res_id"} {
		if v := q.Get(k); v != "" {
			return match(func(id userMI) bool { return id.resourceID != "" && strings.EqualFold(id.resourceID, v) })
		}
	}
	return s.opts.MIClientID, true
}

// handleAppServiceMI answers the App Service managed identity protocol,
// api-version 2019-08-01, as MSAL's AppService source calls it: GET
// IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R[&client_id|object_id|mi_res_id]
// with X-IDENTITY-HEADER. MSAL parses access_token, expires_on (a string of
// Unix seconds) and token_type; resource and client_id complete the reply.
func (s *Server) handleAppServiceMI(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		writeJSON(w, status, map[string]any{"statusCode": status, "message": msg, "correlationId": randomUUID()})
	}
	if r.Method != http.MethodGet {
		fail(http.StatusMethodNotAllowed, "Only GET is supported.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-IDENTITY-HEADER")), []byte(s.MIHeader)) != 1 {
		fail(http.StatusUnauthorized, "Unauthorized request: the X-IDENTITY-HEADER header is missing or wrong.")
		return
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != "2019-08-01" {
		fail(http.StatusBadRequest, fmt.Sprintf("The api-version '%s' is not supported. Use 2019-08-01.", v))
		return
	}
	resource := resourceOf(q.Get("resource"))
	if resource == "" {
		fail(http.StatusBadRequest, "The 'resource' request parameter is required.")
		return
	}
	clientID, ok := s.resolveMI(q)
	if !ok {
		fail(http.StatusBadRequest, "Unable to load the proper Managed Identity.")
		return
	}
	tok, exp := s.issue(s.opts.Tenant, clientID, resource, "0", 0)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_on":   strconv.FormatInt(exp.Unix(), 10),
		"resource":     resource,
		"token_type":   "Bearer",
		"client_id":    clientID,
	})
}

// IMDSHandler returns a plain-HTTP handler for the Azure Instance Metadata
// Service's token endpoint, GET
// /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R
// [&client_id|object_id|msi_res_id], which requires the header
// "Metadata: true" and otherwise answers 400 as IMDS does (the SDKs'
// availability probe sends no such header and only needs an answer).
// Its requests are logged with KindIMDS. Serve it on 169.254.169.254:80
// inside a network namespace, or use ServeIMDS.
func (s *Server) IMDSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.instrument(w, r, KindIMDS, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metadata/identity/oauth2/token" {
				writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found", "error_description": "fakeazure serves only the IMDS token endpoint"})
				return
			}
			s.handleIMDS(w, r)
		})
	})
}

func (s *Server) handleIMDS(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		writeJSON(w, status, map[string]any{"error": "invalid_request", "error_description": msg})
	}
	if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		fail(http.StatusBadRequest, "Required metadata header not specified")
		return
	}
	if r.Method != http.MethodGet {
		fail(http.StatusMethodNotAllowed, "Only GET is supported")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		fail(http.StatusBadRequest, "Required query variable 'api-version' is missing")
		return
	}
	resource := resourceOf(q.Get("resource"))
	if resource == "" {
		fail(http.StatusBadRequest, "Required audience parameter not specified")
		return
	}
	clientID, ok := s.resolveMI(q)
	if !ok {
		fail(http.StatusBadRequest, "Identity not found")
		return
	}
	tok, exp := s.issue(s.opts.Tenant, clientID, resource, "0", 0)
	now := time.Now()
	secs := strconv.Itoa(int(exp.Sub(now).Round(time.Second).Seconds()))
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":   tok,
		"client_id":      clientID,
		"expires_in":     secs,
		"expires_on":     strconv.FormatInt(exp.Unix(), 10),
		"ext_expires_in": secs,
		"not_before":     strconv.FormatInt(now.Unix(), 10),
		"resource":       resource,
		"token_type":     "Bearer",
	})
}

// ServeIMDS serves IMDSHandler over plain HTTP on addr, which must be a
// loopback address or 169.254.169.254 (with a port, usually 80; the
// address must already be configured, e.g. on lo inside a network
// namespace). The returned function stops it; Close does too.
func (s *Server) ServeIMDS(addr string) (closeFn func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: bad address %q: %v", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !(ip.IsLoopback() || ip.Equal(net.IPv4(169, 254, 169, 254))) {
		return nil, fmt.Errorf("fakeazure: IMDS address %q is neither loopback nor 169.254.169.254", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakeazure: %v", err)
	}
	srv := s.serve(ln, s.IMDSHandler())
	if srv == nil {
		return nil, errClosed
	}
	return func() { _ = srv.Close() }, nil
}
