package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// encodings returns v as every encoding the Set must see through: percent
// (query and path, upper and lower hex), JSON (as encoding/json writes it,
// with and without HTML escapes, with \/ and all-\u escapes) and JSON
// inside JSON.
func encodings(v string) map[string]string {
	lowerHex := regexp.MustCompile(`%[0-9A-F]{2}`)
	lower := func(s string) string { return lowerHex.ReplaceAllStringFunc(s, strings.ToLower) }
	jsonStr := func(s string, html bool) string {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(html)
		_ = e.Encode(s)
		out := strings.TrimSpace(b.String())
		return out[1 : len(out)-1]
	}
	allU := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			if r > 0xFFFF {
				b.WriteRune(r)
				continue
			}
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		return b.String()
	}
	j := jsonStr(v, false)
	return map[string]string{
		"raw":             v,
		"query":           url.QueryEscape(v),
		"query lower hex": lower(url.QueryEscape(v)),
		"path":            url.PathEscape(v),
		"path lower hex":  lower(url.PathEscape(v)),
		"json":            j,
		"json html":       jsonStr(v, true),
		"json slashes":    strings.ReplaceAll(j, "/", `\/`),
		"json all \\u":    allU(v),
		"json in json":    jsonStr(jsonStr(v, true), true),
		"query in json":   jsonStr(url.QueryEscape(v), true),
		"json in query":   url.QueryEscape(j),
	}
}

var secrets = []string{
	"e2e8Q~abc+def/ghi=jkl",
	`pa ss"w<o>r&d\x`,
	"Ünïcødé-secret-🔑",
	"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ",
}

func TestRedactEncodings(t *testing.T) {
	var s Set
	for _, v := range secrets {
		s.Add(v)
	}
	for _, v := range secrets {
		for name, form := range encodings(v) {
			for _, text := range []string{
				form,
				"client_secret=" + form + "&client_id=x",
				`{"error_description":"echo: ` + form + `"}`,
				"before " + form + " after",
			} {
				got := s.Redact(text)
				if strings.Contains(got, form) || strings.Contains(got, v) {
					t.Errorf("%q as %s: not masked in %q: %q", v, name, text, got)
				}
				if !strings.Contains(got, Mask) {
					t.Errorf("%q as %s: no mask in %q", v, name, got)
				}
			}
		}
	}
}

func TestRedactKeepsOtherText(t *testing.T) {
	var s Set
	s.Add("hunter2-secret")
	s.Add("short") // below MinLen: ignored
	in := "tenant 7e1a5c3b, source env, short words, basic authentication failed, grant_type=access_token&service=x"
	if got := s.Redact(in); got != in {
		t.Errorf("Redact changed text without secrets:\n%q\n%q", in, got)
	}
	if got := s.Redact("a hunter2-secret b hunter2-secret"); got != "a "+Mask+" b "+Mask {
		t.Errorf("got %q", got)
	}
}

func TestRedactJWTParts(t *testing.T) {
	var s Set
	tok := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ"
	s.Add(tok)
	for _, part := range strings.Split(tok, ".")[1:] {
		if got := s.Redact("x " + part + " y"); strings.Contains(got, part) {
			t.Errorf("part %q not masked: %q", part, got)
		}
	}
}

func TestRedactOverlapping(t *testing.T) {
	var s Set
	s.Add("AAAABBBB")
	s.Add("BBBBCCCC")
	if got := s.Redact("xAAAABBBBCCCCx"); got != "x"+Mask+"x" {
		t.Errorf("got %q", got)
	}
}

// TestRedactCutSecret: text clipped before it was scrubbed shows no start
// of a secret before the cut, in any encoding.
func TestRedactCutSecret(t *testing.T) {
	var s Set
	v := `e2e8Q~0123456789+a/b=c<d>e&f"g h\i`
	s.Add(v)
	for name, form := range encodings(v) {
		for cut := minPrefix + 6; cut < len(form); cut += 3 {
			text := "reason: " + form[:cut] + " tail"
			clipped := Clip(text, len("reason: ")+cut)
			got := s.Redact(clipped)
			for k := minPrefix + 2; k <= len(v); k++ {
				if strings.Contains(got, v[:k]) && !strings.Contains(clipped, " [") {
					continue // Clip did not cut
				}
				if strings.Contains(got, v[:k]) {
					t.Errorf("%s cut at %d: %q shows %q", name, cut, got, v[:k])
					break
				}
			}
		}
	}
}

func TestMaskPatterns(t *testing.T) {
	var s Set // nothing registered: the shapes alone
	for _, in := range []string{
		"client_secret=abcdef%2Bghij&client_id=1",
		`{"client_assertion":"xyzxyzxyz"}`,
		`{\"refresh_token\": \"xyzxyzxyz\"}`,
		"Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123",
		"token eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln done",
		"password%3Dhunter22%26x",
	} {
		got := s.Redact(in)
		if !strings.Contains(got, Mask) {
			t.Errorf("%q: not masked: %q", in, got)
		}
		for _, v := range []string{"abcdef", "xyzxyzxyz", "abcdefghij", "c2ln", "hunter22"} {
			if strings.Contains(got, v) {
				t.Errorf("%q: %q left in %q", in, v, got)
			}
		}
	}
}

func TestConcurrentAddRedact(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				v := fmt.Sprintf("secret-%d-%d", i, j)
				s.Add(v)
				if got := s.Redact("x " + v + " y"); strings.Contains(got, v) {
					t.Errorf("%q not masked right after Add", v)
				}
			}
		})
	}
	wg.Wait()
}

func TestClip(t *testing.T) {
	long := strings.Repeat("word ", 200)
	got := Clip(long, BodyLimit)
	if len(got) > BodyLimit+32 || !strings.Contains(got, "bytes cut]") {
		t.Errorf("Clip: %d bytes: %q", len(got), got[len(got)-40:])
	}
	if Clip("short", 10) != "short" {
		t.Error("Clip changed a short string")
	}
	if got := Clip(strings.Repeat("é", 100), 11); !utf8.ValidString(got) {
		t.Errorf("Clip split a rune: %q", got)
	}
	msg := "GET https://v/\n" + strings.Repeat("-", 80) + "\nRESPONSE 500\n" + strings.Repeat("-", 80) + "\n" +
		strings.Repeat("{body} ", 300) + "\n" + strings.Repeat("-", 80) + "\n"
	c := ClipBody(msg, BodyLimit)
	if len(c) > 1000 || !strings.HasSuffix(c, strings.Repeat("-", 80)+"\n") || !strings.Contains(c, "RESPONSE 500") {
		t.Errorf("ClipBody:\n%s", c)
	}
}

// FuzzRedact: a registered value never survives Redact, in any encoding,
// between arbitrary text.
func FuzzRedact(f *testing.F) {
	for _, v := range secrets {
		f.Add(v, "x=", "&y")
	}
	f.Fuzz(func(t *testing.T, v, pre, post string) {
		if len(v) < MinLen || !utf8.ValidString(v) || strings.ContainsAny(v, "[]") {
			return
		}
		var s Set
		s.Add(v)
		for name, form := range encodings(v) {
			got := s.Redact(pre + " " + form + " " + post)
			if strings.Contains(got, v) && !strings.Contains(pre+post, v) {
				t.Fatalf("%s form %q of %q survives: %q", name, form, v, got)
			}
		}
		_ = ClipBody(pre+v+post, 16)
	})
}
