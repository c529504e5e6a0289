package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/keyring"

	"github.com/azexec/azexec/internal/fail"
)

// TestFileKeyringMatchesLibraryFormat: entries written by the library's
// file backend (earlier azexec versions) are read, and entries written
// now are read by the library.
func TestFileKeyringMatchesLibraryFormat(t *testing.T) {
	dir := t.TempDir()
	pass := func(string) (string, error) { return "passphrase", nil }
	lib, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.FileBackend}, FileDir: dir, FilePasswordFunc: pass})
	if err != nil {
		t.Fatal(err)
	}
	own := newFileKeyring(dir, pass)
	const key = "token:abc:tenant:https://vault.azure.net/.default"
	if err := lib.Set(keyring.Item{Key: key, Data: []byte("from the library")}); err != nil {
		t.Fatal(err)
	}
	if it, err := own.Get(key); err != nil || string(it.Data) != "from the library" {
		t.Fatalf("own Get of a library entry: %q, %v", it.Data, err)
	}
	if err := own.Set(keyring.Item{Key: "profile:dev", Data: []byte("from azexec")}); err != nil {
		t.Fatal(err)
	}
	if it, err := lib.Get("profile:dev"); err != nil || string(it.Data) != "from azexec" {
		t.Fatalf("library Get of an own entry: %q, %v", it.Data, err)
	}
	libKeys, _ := lib.Keys()
	ownKeys, _ := own.Keys()
	if strings.Join(libKeys, ",") != strings.Join(ownKeys, ",") || len(ownKeys) != 2 {
		t.Errorf("keys: library %q, own %q", libKeys, ownKeys)
	}
}

// TestFileKeyringSetNeverTruncates: a reader that opened an entry before
// it was replaced still reads the whole old entry, which still decrypts:
// the library's in-place write left it empty or half written.
func TestFileKeyringSetNeverTruncates(t *testing.T) {
	dir := t.TempDir()
	s := fileStore(dir, "passphrase")
	if _, err := s.Add(testProfile, testSecret); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(s.FileDir(), "profile:dev")
	before, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(entry)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := s.Rotate("dev", "new-secret"); err != nil {
		t.Fatal(err)
	}
	old, _ := readAll(r)
	if string(old) != string(before) {
		t.Fatalf("the open entry now reads %d bytes, had %d: it was rewritten in place", len(old), len(before))
	}
	if _, err := decodeFileEntry(old, "passphrase"); err != nil {
		t.Errorf("the old entry no longer decrypts: %v", err)
	}
	assertOnlyFiles(t, s.FileDir(), "profile:dev")
}

// damage is one way an entry file gets broken.
type damage struct {
	name string
	do   func(token string) string
}

// flipPart changes one character in the middle of part i of a token.
func flipPart(i int) func(string) string {
	return func(tok string) string {
		parts := strings.Split(tok, ".")
		b := []byte(parts[i])
		j := len(b) / 2
		if b[j] == 'A' {
			b[j] = 'B'
		} else {
			b[j] = 'A'
		}
		parts[i] = string(b)
		return strings.Join(parts, ".")
	}
}

var damages = []damage{
	{"empty", func(string) string { return "" }},
	{"truncated to half", func(s string) string { return s[:len(s)/2] }},
	{"last bytes cut", func(s string) string { return s[:len(s)-5] }},
	{"one byte cut", func(s string) string { return s[:len(s)-1] }},
	{"ciphertext changed", flipPart(3)},
	{"tag changed", flipPart(4)},
	{"nonce changed", flipPart(2)},
	{"garbage", func(string) string { return "\x00\x01not a token at all" }},
}

// TestDamagedEntryIsNotAWrongPassphrase: every damage to a profile's entry
// is reported as a corrupt entry with the way to repair it, never as a
// wrong passphrase, while a wrong passphrase is still reported as one.
func TestDamagedEntryIsNotAWrongPassphrase(t *testing.T) {
	for _, d := range append(damages, damage{"wrapped key changed", flipPart(1)}) {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir()
			s := fileStore(dir, "passphrase")
			for _, name := range []string{"dev", "other"} {
				p := testProfile
				p.Name = name
				if _, err := s.Add(p, testSecret); err != nil {
					t.Fatal(err)
				}
			}
			entry := filepath.Join(s.FileDir(), "profile:dev")
			tok, _ := os.ReadFile(entry)
			if err := os.WriteFile(entry, []byte(d.do(string(tok))), 0o600); err != nil {
				t.Fatal(err)
			}
			p, _ := s.Get("dev")
			_, _, err := fileStore(dir, "passphrase").Secret(p)
			if kindOf(t, err) != fail.Identity || !strings.Contains(err.Error(), "corrupt") || strings.Contains(err.Error(), "wrong passphrase") ||
				!strings.Contains(fail.HintOf(err), "azexec profile rotate dev") {
				t.Errorf("err = %v (hint %q)", err, fail.HintOf(err))
			}
			// The damage does not stop another profile from being added,
			// nor the right passphrase from being proven.
			third := testProfile
			third.Name = "third"
			if _, err := fileStore(dir, "passphrase").Add(third, testSecret); err != nil {
				t.Errorf("add beside a damaged entry: %v", err)
			}
			// A wrong passphrase is still one.
			q, _ := s.Get("other")
			if _, _, err := fileStore(dir, "wrong").Secret(q); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
				t.Errorf("wrong passphrase: %v", err)
			}
			// Rotate repairs it.
			if _, err := fileStore(dir, "passphrase").Rotate("dev", "new"); err != nil {
				t.Fatal(err)
			}
			if sec, _, err := fileStore(dir, "passphrase").Secret(p); err != nil || sec != "new" {
				t.Errorf("after rotate: %v", err)
			}
		})
	}
}

// TestDamagedOnlyEntry: the keyring's only entry, damaged, is still told
// from a wrong passphrase where the damage shows in the token itself;
// where only its wrapped key is damaged nothing can tell, and the message
// says both.
func TestDamagedOnlyEntry(t *testing.T) {
	for _, d := range damages {
		dir := t.TempDir()
		s := fileStore(dir, "passphrase")
		p, err := s.Add(testProfile, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		entry := filepath.Join(s.FileDir(), "profile:dev")
		tok, _ := os.ReadFile(entry)
		_ = os.WriteFile(entry, []byte(d.do(string(tok))), 0o600)
		if _, _, err := fileStore(dir, "passphrase").Secret(p); err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("%s: %v", d.name, err)
		}
	}
	dir := t.TempDir()
	s := fileStore(dir, "passphrase")
	p, _ := s.Add(testProfile, testSecret)
	entry := filepath.Join(s.FileDir(), "profile:dev")
	tok, _ := os.ReadFile(entry)
	_ = os.WriteFile(entry, []byte(flipPart(1)(string(tok))), 0o600)
	_, _, err := fileStore(dir, "passphrase").Secret(p)
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") || !strings.Contains(fail.HintOf(err), "damaged") {
		t.Errorf("wrapped key damaged, no other entry: %v (hint %q)", err, fail.HintOf(err))
	}
}

// TestDecodeFileEntryErrors: decodeFileEntry's two failure kinds on a
// good token with the wrong passphrase and on damaged ones.
func TestDecodeFileEntryErrors(t *testing.T) {
	dir := t.TempDir()
	k := newFileKeyring(dir, func(string) (string, error) { return "passphrase", nil })
	if err := k.Set(keyring.Item{Key: "profile:x", Data: []byte("data")}); err != nil {
		t.Fatal(err)
	}
	tok, _ := os.ReadFile(filepath.Join(dir, "profile:x"))
	if it, err := decodeFileEntry(tok, "passphrase"); err != nil || string(it.Data) != "data" {
		t.Fatalf("decode: %v", err)
	}
	if _, err := decodeFileEntry(tok, "wrong"); !errors.Is(err, errKeyUnwrap) {
		t.Errorf("wrong passphrase: %v", err)
	}
	for _, d := range damages {
		var de *entryDamagedError
		if _, err := decodeFileEntry([]byte(d.do(string(tok))), "passphrase"); !errors.As(err, &de) {
			t.Errorf("%s: %v, want a damaged entry", d.name, err)
		}
	}
}

// FuzzDecodeFileEntry: whatever is in an entry file, decoding returns an
// item only for a well-formed token and otherwise one of the two errors;
// it never panics.
func FuzzDecodeFileEntry(f *testing.F) {
	dir := f.TempDir()
	k := newFileKeyring(dir, func(string) (string, error) { return "p", nil })
	if err := k.Set(keyring.Item{Key: "profile:x", Data: []byte("data")}); err != nil {
		f.Fatal(err)
	}
	tok, _ := os.ReadFile(filepath.Join(dir, "profile:x"))
	f.Add(tok)
	f.Add([]byte(""))
	f.Add([]byte("a.b.c.d.e"))
	f.Add([]byte(`eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIiwicDJjIjoxZTEyLCJwMnMiOiJBQUFBIn0.AA.AA.AA.AA`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := decodeFileEntry(data, "p")
		var de *entryDamagedError
		if err != nil && !errors.As(err, &de) && !errors.Is(err, errKeyUnwrap) {
			t.Errorf("unexpected error kind: %v", err)
		}
	})
}
