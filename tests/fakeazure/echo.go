package fakeazure

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Echo makes the fake answer requests of one kind with an error that
// echoes the request's credentials back, as a careless or hostile server
// might: a token endpoint that puts the whole form into its
// error_description, a vault or identity endpoint that copies the
// Authorization or X-IDENTITY-HEADER header into its error body. Tests use
// it to prove that a client's logs and error messages never show what a
// server echoed, in any of the encodings the echo uses.
type Echo struct {
	// Kind selects the requests (a Kind constant: KindToken, KindKV,
	// KindMI, KindIMDS, KindARM).
	Kind string
	// Status is answered (400 if zero).
	Status int
	// Times is how many requests are echoed; 0 means forever.
	Times int
	// Encodings are the encodings (of EchoEncodings) the credentials are
	// echoed in, in order, at the start of the error description; all
	// when empty. Then the whole request follows.
	Encodings []string
}

type echoState struct {
	Echo
	used int
}

// AddEcho adds an echo. Faults are tried first; then the first echo that
// matches a request and is not used up answers it instead of the real
// handler.
func (s *Server) AddEcho(e Echo) {
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echoes = append(s.echoes, &echoState{Echo: e})
}

// Echoed returns every credential the fake has echoed so far (client
// secrets, client assertions, bearer tokens, identity headers), so that a
// test can search output for them too.
func (s *Server) Echoed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.echoed...)
}

func (s *Server) takeEcho(kind string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.echoes {
		if e.Kind != kind || e.Times > 0 && e.used >= e.Times {
			continue
		}
		e.used++
		return true
	}
	return false
}

func (s *Server) echoFor(kind string) Echo {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.echoes {
		if e.Kind == kind {
			return e.Echo
		}
	}
	return Echo{Status: http.StatusBadRequest}
}

// EchoTail ends every echo's description and body, after more than 512
// bytes: a client that cuts server text short never shows it.
const EchoTail = "EchoTail"

// EchoEncodings are the encodings an Echo can give the credentials it
// echoes:
//
//	plain        as sent (inside a JSON string: " and \ escaped)
//	query-lower  url.QueryEscape with lower-case hex (%2b %2f %3d)
//	path         url.PathEscape
//	json-u       every other character a \uXXXX escape
//	json-slash   encoding/json's escapes (HTML-safe), and \/ for /
//	nested       JSON inside JSON (escaped twice)
var EchoEncodings = []string{"plain", "query-lower", "path", "json-u", "json-slash", "nested"}

// encodeEcho returns v in encoding enc, as the inside of a JSON string.
func encodeEcho(enc, v string) string {
	switch enc {
	case "query-lower":
		return jsonInner(lowerHex(url.QueryEscape(v)))
	case "path":
		return jsonInner(url.PathEscape(v))
	case "json-u":
		return uEscape(v)
	case "json-slash":
		return strings.ReplaceAll(jsonInner(v), "/", `\/`)
	case "nested":
		return jsonInner(jsonString(v))
	}
	return jsonInner(v)
}

// echo answers r with its credentials echoed, if an Echo applies. A
// request that carries no credential (Key Vault's first, unauthenticated
// request, which earns the challenge) is left to the real handler.
func (s *Server) echo(w http.ResponseWriter, r *http.Request, kind string) bool {
	raw := ""
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			return false
		}
		raw = string(b)
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	form, _ := url.ParseQuery(raw)
	var creds []string
	for _, k := range []string{"client_secret", "client_assertion", "access_token", "refresh_token"} {
		if v := form.Get(k); v != "" {
			creds = append(creds, v)
		}
	}
	headers := map[string]string{}
	for _, h := range []string{"Authorization", "X-Identity-Header", "Secret", "Metadata"} {
		if v := r.Header.Get(h); v != "" {
			headers[h] = v
			if h != "Metadata" {
				creds = append(creds, strings.TrimPrefix(v, "Bearer "))
			}
		}
	}
	if len(creds) == 0 || !s.takeEcho(kind) {
		return false
	}
	e := s.echoFor(kind)
	s.mu.Lock()
	s.echoed = append(s.echoed, creds...)
	s.mu.Unlock()

	// The description starts as Entra's do, with the AADSTS code clients
	// pick the line out by, then the credentials in each of e.Encodings,
	// then the whole request: the form as sent, with lower-case hex, the
	// headers as plain text. Every part is the inside of a JSON string,
	// written by hand so that each encoding reaches the client as chosen.
	encs := e.Encodings
	if len(encs) == 0 {
		encs = EchoEncodings
	}
	var echoes []string
	for _, enc := range encs {
		for _, c := range creds {
			echoes = append(echoes, encodeEcho(enc, c))
		}
	}
	var hdr []string
	for _, k := range sortedKeys(headers) {
		hdr = append(hdr, k+": "+headers[k])
	}
	desc := "AADSTS7000215: EchoedRequest: " + strings.Join(echoes, " ") + " " +
		jsonInner(fmt.Sprintf("request %s %s form=%s lowerhex=%s headers=[%s] query=%s",
			r.Method, r.URL.Path, raw, lowerHex(raw), strings.Join(hdr, "; "), r.URL.RawQuery)) +
		" " + strings.Repeat("padding ", 80) + EchoTail
	formJSON, _ := json.Marshal(form)
	hdrJSON, _ := json.Marshal(headers)
	request := fmt.Sprintf(`{"form":%s,"headers":%s,"nested":%s,"padding":%q,"tail":%q}`, formJSON, hdrJSON,
		jsonString(string(formJSON)+string(hdrJSON)), strings.Repeat("padding ", 80), EchoTail)
	body := fmt.Sprintf(`{"error":%s,"error_description":"%s","request":%s}`, jsonString(echoCode(kind)), desc, request)
	if kind == KindKV || kind == KindARM || kind == KindMI {
		// Key Vault and Resource Manager wrap their errors:
		// {"error":{"code","message"}}; App Service has "message".
		body = fmt.Sprintf(`{"error":{"code":"EchoedRequest","message":"%s"},"message":"%s","request":%s}`, desc, desc, request)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(body))
	return true
}

func echoCode(kind string) string {
	if kind == KindToken {
		return "invalid_client"
	}
	return "EchoedRequest"
}

// jsonInner is s as the inside of a JSON string.
func jsonInner(s string) string {
	q := jsonString(s)
	return q[1 : len(q)-1]
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// uEscape writes s as the inside of a JSON string with every other
// character a \u escape.
func uEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i%2 == 0 && r < 0x10000 || r < 0x20 || r == '"' || r == '\\' {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var upperHex = regexp.MustCompile(`%[0-9A-F]{2}`)

func lowerHex(s string) string { return upperHex.ReplaceAllStringFunc(s, strings.ToLower) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
