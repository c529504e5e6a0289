package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// Marker replaces every masked value in the output.
const Marker = "<concealed by azexec>"

// MinLength is the shortest value (and the shortest form of one) that is
// masked: shorter ones would mask pieces of ordinary words all over the
// output. It matches the log scrubber's and the CI runner masks' limit.
const MinLength = 6

// TooShort reports whether v is too short to be masked, so that the caller
// can warn, naming the variable.
func TooShort(v string) bool { return len(v) < MinLength }

// Forms are the strings masked for value v: v itself and the forms it
// commonly leaks in, each at least MinLength bytes long, without repeats.
//
//   - each line of a multi-line value (a PEM key printed line by line, or
//     a log that splits it), lines split at CR and LF as the CI runners do;
//   - standard and URL-safe base64, padded and raw, of the value on its
//     own, and of the value at each of the three byte alignments inside
//     longer encoded data (`base64(user:password)`): the characters that
//     depend on the value's bytes alone, as the GitHub runner registers
//     them (ValueEncoders.Base64StringEscapeShift);
//   - URL encoding, as a query (space as +), as a path (space as %20), and
//     with every byte but the unreserved ones escaped (JavaScript's
//     encodeURIComponent, Python's quote(safe=""));
//   - JSON string escaping, with and without HTML-safe escapes (\u003c).
//
// Every line gets the same encodings as the whole value.
func Forms(v string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if len(f) >= MinLength && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	pieces := []string{v}
	if lines := strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }); len(lines) > 1 || len(lines) == 1 && lines[0] != v {
		pieces = append(pieces, lines...)
	}
	for _, p := range pieces {
		if len(p) < MinLength {
			continue
		}
		add(p)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			for _, f := range base64Forms(enc, p) {
				add(f)
			}
		}
		add(url.QueryEscape(p))
		add(url.PathEscape(p))
		add(percentEncode(p))
		add(jsonString(p, true))
		add(jsonString(p, false))
	}
	return out
}

// base64Forms are the base64 forms of v in enc: padded and raw on its own,
// and at each alignment a in 0..2 the characters fixed by v's bytes alone.
// At alignment a, v starts a bits into a 3-byte group: the first
// characters mix in the a bytes before it (skip[a] characters), and the
// last one, unless v ends a group, mixes in the byte after it.
func base64Forms(enc *base64.Encoding, v string) []string {
	skip := [3]int{0, 2, 3}
	forms := []string{enc.EncodeToString([]byte(v)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v))}
	for a := 0; a < 3; a++ {
		data := append(make([]byte, a), v...)
		raw := enc.WithPadding(base64.NoPadding).EncodeToString(data)
		end := len(raw)
		if len(data)%3 != 0 {
			end-- // the last character holds bits of the next byte
		}
		if end > skip[a] {
			forms = append(forms, raw[skip[a]:end])
		}
	}
	return forms
}

// jsonString is v as a JSON string's content, without the quotes.
func jsonString(v string, htmlSafe bool) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(htmlSafe)
	_ = e.Encode(v) // a string always encodes (invalid UTF-8 becomes U+FFFD)
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// percentEncode escapes every byte but RFC 3986's unreserved characters.
func percentEncode(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
