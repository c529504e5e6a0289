// Package redact is azexec's second wall against leaked credentials: a set
// of every secret and token the run has seen, which masks each of them in
// any text before it reaches a log line or an error message.
//
// azexec logs names, never values, so the first wall is simply not to log
// a value. But libraries and servers write text azexec does not control: a
// token endpoint that echoes the request form puts the client secret,
// URL-encoded, into its error_description; a vault that echoes the
// Authorization header puts the token, JSON-escaped, into its error body;
// and the Azure SDK copies such bodies into its error messages and its
// trace log. So a Set finds a value not only as it is but also under the
// encodings such text uses: percent-encoding (any hex case, any choice of
// escaped characters, '+' for a space), JSON string escapes (\" \\ \/
// \uXXXX, HTML-safe \u003c \u003e \u0026) and JSON inside JSON (a server's
// JSON echo in azexec's JSON log). It does so by decoding the text, not by
// encoding the value: every encoder's choices are then covered at once.
//
// Set.Redact also masks what is shaped like a credential without having
// been registered: a JWT (even cut short), a Bearer credential, and the
// value of a form or JSON field named client_secret, client_assertion,
// access_token, refresh_token, id_token or password: the last wall for a
// value no one told the Set about.
package redact

import (
	"bytes"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Mask replaces every secret.
const Mask = "[redacted]"

// MinLen is the shortest value a Set registers: shorter ones would mangle
// ordinary words and are not credentials anyway.
const MinLen = 6

// Set is the values to mask. The zero value is empty and ready; it is safe
// for concurrent use (tokens arrive from goroutines while others log).
type Set struct {
	mu     sync.RWMutex
	values [][]byte // longest first, no duplicates
	space  bool     // some value holds a space, which a form encodes as '+'
}

// Add registers v, and for a JWT also its payload and signature, which a
// truncated echo may show on their own. Values shorter than MinLen are
// ignored.
func (s *Set) Add(v string) {
	if len(v) < MinLen {
		return
	}
	add := []string{v}
	if parts := strings.Split(v, "."); len(parts) == 3 && isJWTish(parts) {
		// The header is the same for every token of an issuer and
		// secret to nobody: masking it would hide harmless text only.
		add = append(add, parts[1], parts[2])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range add {
		if len(a) < MinLen || slices.ContainsFunc(s.values, func(b []byte) bool { return string(b) == a }) {
			continue
		}
		s.values = append(s.values, []byte(a))
		s.space = s.space || strings.Contains(a, " ")
	}
	sort.SliceStable(s.values, func(i, j int) bool { return len(s.values[i]) > len(s.values[j]) })
}

func isJWTish(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Redact returns text with every registered value masked, in any of the
// encodings the package comment lists, and everything shaped like a
// credential masked too (see maskPatterns). A nil Set masks shapes only.
func (s *Set) Redact(text string) string {
	if s == nil {
		return maskPatterns(text)
	}
	s.mu.RLock()
	spans := s.find(text)
	s.mu.RUnlock()
	return maskPatterns(apply(text, spans))
}

// span is a half-open byte range of the original text.
type span struct{ lo, hi int }

// find returns the spans of text that hold a registered value, in any view.
func (s *Set) find(text string) []span {
	if len(s.values) == 0 {
		return nil
	}
	var spans []span
	for _, v := range views(text, s.space) {
		for _, val := range s.values {
			for i := 0; ; {
				j := bytes.Index(v.b[i:], val)
				if j < 0 {
					break
				}
				start := i + j
				end := start + len(val)
				spans = append(spans, span{v.lo[start], v.hi[end-1]})
				i = start + 1
			}
		}
		spans = append(spans, s.cutPrefixes(v)...)
	}
	return spans
}

// minPrefix is the shortest start of a value masked before a cut.
const minPrefix = 4

// cutMark matches the note Clip leaves where it cut.
var cutMark = regexp.MustCompile(` \[\d+ bytes cut\]`)

// cutPrefixes finds, before each note Clip left, the start of a registered
// value that the cut split: text clipped before it was scrubbed (an
// error's reason, cut where no scrubber was at hand) must not show half a
// secret.
func (s *Set) cutPrefixes(v view) []span {
	var spans []span
	for _, m := range cutMark.FindAllIndex(v.b, -1) {
		// The cut may have split an escape too (`\`, `\u00`, `%2`): it
		// is not decoded, so the value's start ends before it.
		for trim := 0; trim <= 5 && trim <= m[0]; trim++ {
			if trim > 0 && v.b[m[0]-trim] != '\\' && v.b[m[0]-trim] != '%' {
				continue
			}
			before := v.b[:m[0]-trim]
			for _, val := range s.values {
				for k := min(len(val)-1, len(before)); k >= minPrefix; k-- {
					if bytes.HasSuffix(before, val[:k]) {
						spans = append(spans, span{v.lo[len(before)-k], v.hi[m[0]-1]})
						break
					}
				}
			}
		}
	}
	return spans
}

// apply replaces the union of spans by Mask, once per run of overlapping
// or touching spans.
func apply(text string, spans []span) string {
	if len(spans) == 0 {
		return text
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	var b strings.Builder
	at := 0
	for i := 0; i < len(spans); {
		lo, hi := spans[i].lo, spans[i].hi
		for i++; i < len(spans) && spans[i].lo <= hi; i++ {
			hi = max(hi, spans[i].hi)
		}
		b.WriteString(text[at:lo])
		b.WriteString(Mask)
		at = hi
	}
	b.WriteString(text[at:])
	return b.String()
}

// view is text decoded one way: byte i of b came from text[lo[i]:hi[i]]
// (one byte, or the whole escape that produced it).
type view struct {
	b      []byte
	lo, hi []int
}

func identity(text string) view {
	v := view{b: []byte(text), lo: make([]int, len(text)), hi: make([]int, len(text))}
	for i := 0; i < len(text); i++ {
		v.lo[i], v.hi[i] = i, i+1
	}
	return v
}

// views returns text as it is and as each decoding that changes it reads
// it: JSON unescaped once and twice, each of those percent-decoded (and,
// when a value holds a space, with '+' read as a space), and each of those
// JSON unescaped again.
func views(text string, plusSpace bool) []view {
	base := identity(text)
	out := []view{base}
	jsons := []view{base}
	if strings.IndexByte(text, '\\') >= 0 {
		if j, ok := jsonDecode(base); ok {
			jsons = append(jsons, j)
			out = append(out, j)
			if jj, ok := jsonDecode(j); ok {
				jsons = append(jsons, jj)
				out = append(out, jj)
			}
		}
	}
	for _, j := range jsons {
		for _, plus := range []bool{false, true} {
			if plus && !plusSpace {
				continue
			}
			p, ok := percentDecode(j, plus)
			if !ok {
				continue
			}
			out = append(out, p)
			// A JSON string sent in a form or query: escaped, then encoded.
			if pj, ok := jsonDecode(p); ok {
				out = append(out, pj)
			}
		}
	}
	return out
}

// emit appends one decoded byte that came from in's bytes [from, to).
func (v *view) emit(c byte, in view, from, to int) {
	v.b = append(v.b, c)
	v.lo = append(v.lo, in.lo[from])
	v.hi = append(v.hi, in.hi[to-1])
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode decodes every %XX (either case); with plus, '+' reads as a
// space, as in a form. ok is false when nothing was decoded.
func percentDecode(in view, plus bool) (out view, ok bool) {
	b := in.b
	for i := 0; i < len(b); {
		if b[i] == '%' && i+2 < len(b) {
			h, ok1 := unhex(b[i+1])
			l, ok2 := unhex(b[i+2])
			if ok1 && ok2 {
				out.emit(h<<4|l, in, i, i+3)
				ok = true
				i += 3
				continue
			}
		}
		if plus && b[i] == '+' {
			out.emit(' ', in, i, i+1)
			ok = true
			i++
			continue
		}
		out.emit(b[i], in, i, i+1)
		i++
	}
	return out, ok
}

// jsonDecode reads the escapes of a JSON string wherever they are: \" \\
// \/ \b \f \n \r \t and \uXXXX (with surrogate pairs). ok is false when
// nothing was decoded.
func jsonDecode(in view) (out view, ok bool) {
	b := in.b
	for i := 0; i < len(b); {
		if b[i] != '\\' || i+1 >= len(b) {
			out.emit(b[i], in, i, i+1)
			i++
			continue
		}
		var c byte
		switch b[i+1] {
		case '"', '\\', '/':
			c = b[i+1]
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			r, n := unicodeEscape(b[i:])
			if n == 0 {
				out.emit(b[i], in, i, i+1)
				i++
				continue
			}
			var buf [utf8.UTFMax]byte
			for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
				out.emit(c, in, i, i+n)
			}
			ok = true
			i += n
			continue
		default:
			out.emit(b[i], in, i, i+1)
			i++
			continue
		}
		out.emit(c, in, i, i+2)
		ok = true
		i += 2
	}
	return out, ok
}

// unicodeEscape reads \uXXXX, or a surrogate pair \uD8XX\uDCXX, at the
// start of b; n is the bytes read, 0 if there is no valid escape.
func unicodeEscape(b []byte) (r rune, n int) {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range b[2:6] {
			d, ok := unhex(c)
			if !ok {
				return 0, false
			}
			r = r<<4 | rune(d)
		}
		return r, true
	}
	r, ok := hex4(b)
	if !ok {
		return 0, 0
	}
	if r >= 0xD800 && r < 0xDC00 {
		if r2, ok := hex4(b[6:]); ok && r2 >= 0xDC00 && r2 < 0xE000 {
			return 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00), 12
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

// credentialField matches the value of a form, query or JSON field that
// carries a credential, in plain, JSON-escaped or percent-encoded syntax:
// client_secret=V, "access_token":"V", \"password\": \"V\", client_secret%3DV.
var credentialField = regexp.MustCompile(`(?i)\b(client_secret|client_assertion|access_token|refresh_token|id_token|password)((?:\\*"|%22)?\s*(?:=|:|%3D|%3A)\s*(?:\\*"|%22)?)([^\s"'&\\,;}<>]{4,})`)

// jwt matches a compact JWS, or what is left of one cut short: a
// base64url JSON header (eyJ is `{"`), a dot, and the start of a JSON
// payload are enough.
var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)

// bearer matches the credential of an Authorization header.
var bearer = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+|%20|\+)([A-Za-z0-9\-._~+/]{20,}=*)`)

// maskPatterns masks what looks like a credential whether or not it was
// registered.
func maskPatterns(text string) string {
	text = jwt.ReplaceAllString(text, Mask)
	text = bearer.ReplaceAllStringFunc(text, func(m string) string {
		sm := bearer.FindStringSubmatch(m)
		if sm[3] == Mask || strings.HasPrefix(sm[3], Mask) {
			return m
		}
		return sm[1] + sm[2] + Mask
	})
	return credentialField.ReplaceAllStringFunc(text, func(m string) string {
		sm := credentialField.FindStringSubmatch(m)
		if strings.HasPrefix(sm[3], "[redacted") || strings.EqualFold(sm[3], "REDACTED") {
			return m
		}
		return sm[1] + sm[2] + Mask
	})
}
