package mask

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// reference masks text in one piece, the obvious way: every occurrence of
// every form of every value, overlapping or touching occurrences merged,
// each merged range replaced by one Marker. The streaming Writer must give
// exactly this, however the text is split into writes.
func reference(values []string, text []byte) []byte {
	masked := make([]bool, len(text))
	for _, v := range values {
		if TooShort(v) {
			continue
		}
		for _, f := range Forms(v) {
			for i := 0; ; {
				j := bytes.Index(text[i:], []byte(f))
				if j < 0 {
					break
				}
				for k := i + j; k < i+j+len(f); k++ {
					masked[k] = true
				}
				i += j + 1
			}
		}
	}
	var out []byte
	for i := 0; i < len(text); i++ {
		if !masked[i] {
			out = append(out, text[i])
			continue
		}
		out = append(out, Marker...)
		for i+1 < len(text) && masked[i+1] {
			i++
		}
	}
	return out
}

// stream writes text to a new Writer in the given pieces, then closes it.
func stream(t testing.TB, m *Masker, text []byte, cuts []int) []byte {
	var out bytes.Buffer
	w := m.NewWriter(&out, 0)
	prev := 0
	for _, c := range cuts {
		if _, err := w.Write(text[prev:c]); err != nil {
			t.Fatal(err)
		}
		prev = c
	}
	if _, err := w.Write(text[prev:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// randomCuts splits n bytes at random points, often one byte apart.
func randomCuts(r *rand.Rand, n int) []int {
	var cuts []int
	for i := 0; i < n; {
		step := 1 + r.IntN(8)
		if r.IntN(4) == 0 {
			step = 1 + r.IntN(200)
		}
		i += step
		if i < n {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_.~%\"\\ <>&\n"

func randomString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// leaks are the ways v may show in output, computed here independently of
// Forms: as it is, each line, JSON- and URL-encoded, base64 on its own,
// and the base64 characters fixed by v inside longer encoded data (ctx is
// the encoded data and where v sits in it).
func leaks(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	j, _ := json.Marshal(v)
	out = append(out, string(j[1:len(j)-1]))
	for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if len(line) >= MinLength {
			out = append(out, line)
		}
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		out = append(out, e.EncodeToString([]byte(v)))
	}
	return out
}

// fixedChars is the run of base64 characters of enc(data) that depend on
// data[at:at+n] alone: character j covers bits [6j, 6j+6).
func fixedChars(enc string, at, n int) string {
	first := (8*at + 5) / 6
	last := (8*(at+n))/6 - 1
	if last < first {
		return ""
	}
	return enc[first : last+1]
}

// TestPropertyRandomSplits: random values, text holding them (as they are
// and encoded, inside base64 of longer data at random alignments) split
// into random writes: no value and no leak form appears, and the output
// equals the one-piece reference; text without values comes out byte for
// byte.
func TestPropertyRandomSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for round := 0; round < 300; round++ {
		var values []string
		for range 1 + r.IntN(6) {
			values = append(values, randomString(r, MinLength+r.IntN(40)))
		}
		m := New(values...)
		// Filler that holds no value by construction is checked against
		// the reference below too.
		var text []byte
		var inner []string // base64 runs fixed by a value inside longer data
		for range 3 + r.IntN(8) {
			text = append(text, randomString(r, r.IntN(60))...)
			v := values[r.IntN(len(values))]
			switch r.IntN(3) {
			case 0:
				ls := leaks(v)
				text = append(text, ls[r.IntN(len(ls))]...)
			default:
				pre := randomString(r, r.IntN(7))
				data := pre + v + randomString(r, r.IntN(7))
				enc := base64.StdEncoding
				if r.IntN(2) == 0 {
					enc = base64.URLEncoding
				}
				e := enc.EncodeToString([]byte(data))
				inner = append(inner, fixedChars(e, len(pre), len(v)))
				text = append(text, e...)
			}
		}
		got := stream(t, m, text, randomCuts(r, len(text)))
		if want := reference(values, text); !bytes.Equal(got, want) {
			t.Fatalf("values %q\ntext %q\ngot  %q\nwant %q", values, text, got, want)
		}
		for _, v := range values {
			for _, l := range leaks(v) {
				if bytes.Contains(got, []byte(l)) {
					t.Fatalf("value %q leaks as %q in %q", v, l, got)
				}
			}
		}
		for _, in := range inner {
			if len(in) >= MinLength && bytes.Contains(got, []byte(in)) {
				t.Fatalf("base64 run %q of a value shows in %q", in, got)
			}
		}
		// Text without any value passes byte for byte.
		plain := []byte(randomString(r, r.IntN(2000)))
		if !bytes.Equal(reference(values, plain), plain) {
			continue // a value by chance; the reference case above covers it
		}
		if got := stream(t, m, plain, randomCuts(r, len(plain))); !bytes.Equal(got, plain) {
			t.Fatalf("values %q: plain text changed:\n%q\n%q", values, plain, got)
		}
	}
}

// TestSplitEveryWay writes one value at every split point and one byte at
// a time.
func TestSplitEveryWay(t *testing.T) {
	v := "s3cr3t-Value/with+chars"
	m := New(v)
	text := []byte("before " + v + " after " + v)
	want := "before " + Marker + " after " + Marker
	for i := 0; i <= len(text); i++ {
		if got := string(stream(t, m, text, []int{i})); got != want {
			t.Fatalf("split at %d: %q", i, got)
		}
	}
	var cuts []int
	for i := 1; i < len(text); i++ {
		cuts = append(cuts, i)
	}
	if got := string(stream(t, m, text, cuts)); got != want {
		t.Fatalf("byte by byte: %q", got)
	}
}

// TestHoldsOnlyPossibleStarts: bytes that cannot begin a value are written
// at once; a possible start is held until it cannot complete one.
func TestHoldsOnlyPossibleStarts(t *testing.T) {
	m := New("password123")
	var out bytes.Buffer
	w := m.NewWriter(&out, 0)
	w.Write([]byte("hello pass"))
	if out.String() != "hello " {
		t.Fatalf("after a possible start: %q, want %q written", out.String(), "hello ")
	}
	w.Write([]byte("ive"))
	if out.String() != "hello passive" {
		t.Fatalf("after it could no longer be a value: %q", out.String())
	}
	w.Write([]byte(" password12"))
	w.Write([]byte("3!"))
	w.Close()
	if want := "hello passive " + Marker + "!"; out.String() != want {
		t.Fatalf("%q, want %q", out.String(), want)
	}
}

// TestIdleRelease: with an idle time, held bytes show after it; the rest of
// a value completed after the release is still masked.
func TestIdleRelease(t *testing.T) {
	m := New("password123")
	var mu sync.Mutex
	var out bytes.Buffer
	w := m.NewWriter(lockedWriter{&mu, &out}, 20*time.Millisecond)
	w.Write([]byte("Enter pass"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		s := out.String()
		mu.Unlock()
		if s == "Enter pass" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("held bytes not released after the idle time: %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.Write([]byte("word123 ok"))
	w.Close()
	mu.Lock()
	defer mu.Unlock()
	if want := "Enter pass" + Marker + " ok"; out.String() != want {
		t.Fatalf("%q, want %q", out.String(), want)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestAddWhileWriting: values added while a Writer is in use are masked
// from the next write on, including one whose start is already held.
func TestAddWhileWriting(t *testing.T) {
	m := New("first-secret")
	var out bytes.Buffer
	w := m.NewWriter(&out, 0)
	w.Write([]byte("a first-secret b first-sec"))
	m.Add("first-second-value")
	w.Write([]byte("ond-value c second-value-x"))
	m.Add("second-value-x")
	w.Write([]byte(" d second-value-x"))
	w.Close()
	want := "a " + Marker + " b " + Marker + " c second-value-x d " + Marker
	if out.String() != want {
		t.Fatalf("%q\nwant %q", out.String(), want)
	}
}

// TestAddConcurrent runs Add against Writers under the race detector.
func TestAddConcurrent(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			w := m.NewWriter(&out, time.Millisecond)
			for j := range 200 {
				w.Write([]byte("line value-" + string(rune('a'+i)) + string(rune('a'+j%26)) + "zzzz\n"))
			}
			w.Close()
		}()
	}
	for j := range 26 {
		m.Add("value-a" + string(rune('a'+j)) + "zzzz")
	}
	wg.Wait()
	if m.Len() != 26 {
		t.Fatalf("%d values", m.Len())
	}
}

// TestShortValues are left alone.
func TestShortValues(t *testing.T) {
	m := New("abc", "12345")
	if m.Len() != 0 {
		t.Fatalf("short values kept: %d", m.Len())
	}
	if got := string(stream(t, m, []byte("abc 12345"), nil)); got != "abc 12345" {
		t.Fatal(got)
	}
}

// TestForms spells out the forms of one value.
func TestForms(t *testing.T) {
	v := "p@ss word/ä\"<x>"
	got := strings.Join(Forms(v), "\n")
	for _, want := range []string{
		v,
		base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawURLEncoding.EncodeToString([]byte(v)),
		url.QueryEscape(v),                 // + for space
		"p@ss%20word%2F%C3%A4%22%3Cx%3E",   // path escape
		"p%40ss%20word%2F%C3%A4%22%3Cx%3E", // encodeURIComponent
		`p@ss word/ä\"\u003cx\u003e`,       // JSON, HTML-safe
		`p@ss word/ä\"<x>`,                 // JSON
		fixedChars(base64.StdEncoding.EncodeToString([]byte("x"+v+"yz")), 1, len(v)),
		fixedChars(base64.StdEncoding.EncodeToString([]byte("xy"+v+"z")), 2, len(v)),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no form %q among\n%s", want, got)
		}
	}
	lines := Forms("-----BEGIN KEY-----\nMIIEvQIBADANBgkq\r\nshort\n")
	for _, want := range []string{"-----BEGIN KEY-----", "MIIEvQIBADANBgkq"} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("line %q not a form", want)
		}
	}
	for _, f := range lines {
		if f == "short" {
			t.Error("a line shorter than MinLength is a form")
		}
	}
}

// FuzzWriter: any values, any text, any split give the reference's output.
func FuzzWriter(f *testing.F) {
	f.Add("secret-one\nsecret-two", []byte("x secret-one y c2VjcmV0LW9uZQ== z"), uint64(7))
	f.Add("aaaaaa", []byte("aaaaaaaaaaaaa"), uint64(1))
	f.Fuzz(func(t *testing.T, values string, text []byte, seed uint64) {
		vs := strings.Split(values, "|")
		if len(text) > 4096 || len(values) > 512 {
			return
		}
		r := rand.New(rand.NewPCG(seed, seed))
		got := stream(t, New(vs...), text, randomCuts(r, len(text)))
		if want := reference(vs, text); !bytes.Equal(got, want) {
			t.Fatalf("values %q text %q:\ngot  %q\nwant %q", vs, text, got, want)
		}
	})
}

// BenchmarkWriter streams log-like text through 200 values of 16–64 bytes.
func BenchmarkWriter(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var values []string
	for range 200 {
		values = append(values, randomString(r, 16+r.IntN(49)))
	}
	m := New(values...)
	chunk := benchText(r, 128<<10)
	w := m.NewWriter(io.Discard, 0)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for range b.N {
		w.Write(chunk)
	}
}

// benchText is n bytes of log-like lines: words, numbers, base64 ids.
func benchText(r *rand.Rand, n int) []byte {
	words := []string{"INFO", "request", "completed", "in", "ms", "GET", "/api/v1/items", "status=200", "user", "id="}
	var b []byte
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, ' ')
		if r.IntN(5) == 0 {
			b = append(b, base64.StdEncoding.EncodeToString([]byte(randomString(r, 12)))...)
			b = append(b, '\n')
		}
	}
	return b[:n]
}
