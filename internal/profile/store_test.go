package profile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/azexec/azexec/internal/keyring"

	"github.com/azexec/azexec/internal/fail"
)

// memKeyring is an in-memory backend with the semantics of the real ones
// (Remove of a missing entry is ErrKeyNotFound) and a hook on Set.
type memKeyring struct {
	mu    sync.Mutex
	items map[string]keyring.Item
	onSet func(keyring.Item) error
}

func newMemKeyring() *memKeyring { return &memKeyring{items: map[string]keyring.Item{}} }

func (m *memKeyring) Get(key string) (keyring.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.items[key]
	if !ok {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	return i, nil
}

func (m *memKeyring) GetMetadata(key string) (keyring.Metadata, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[key]; !ok {
		return keyring.Metadata{}, keyring.ErrKeyNotFound
	}
	return keyring.Metadata{}, nil
}

func (m *memKeyring) Set(i keyring.Item) error {
	if m.onSet != nil {
		if err := m.onSet(i); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[i.Key] = i
	return nil
}

func (m *memKeyring) Remove(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[key]; !ok {
		return keyring.ErrKeyNotFound
	}
	delete(m.items, key)
	return nil
}

func (m *memKeyring) Keys() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.items {
		out = append(out, k)
	}
	return out, nil
}

func (m *memKeyring) has(key string) bool {
	_, err := m.Get(key)
	return err == nil
}

// memStore is a Store in a temporary directory whose every backend is mem,
// named keyctl (a backend with no passphrase).
func memStore(t *testing.T, mem *memKeyring) *Store {
	t.Helper()
	s := NewStore(t.TempDir(), "keyctl", nil)
	s.open = func(keyring.Config) (keyring.Keyring, error) { return mem, nil }
	return s
}

// fileStore is a Store on the real encrypted file backend.
func fileStore(dir string, passphrase string) *Store {
	return NewStore(dir, "file", func(string, bool, bool) (string, error) {
		if passphrase == "" {
			return "", ErrNoPassphrase
		}
		return passphrase, nil
	})
}

var testProfile = Profile{Name: "dev", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
	ClientID: "0b4e3f7c-1111-2222-3333-444455556666", Cloud: "public"}

const testSecret = Secret("s3cr3t~value-that-must-not-leak")

func kindOf(t *testing.T, err error) fail.Kind {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	return fail.KindOf(err)
}

func TestAddGetSecretRemove(t *testing.T) {
	mem := newMemKeyring()
	s := memStore(t, mem)
	p, err := s.Add(testProfile, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Backend != "keyctl" {
		t.Errorf("backend = %q", p.Backend)
	}
	if !mem.has("profile:dev") {
		t.Fatal("secret not in the keyring")
	}
	got, err := s.Get("dev")
	if err != nil || got.ClientID != testProfile.ClientID || got.Name != "dev" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	sec, k, err := s.Secret(got)
	if err != nil || sec != testSecret || k.Backend != "keyctl" {
		t.Fatalf("Secret = %v, %v", k, err)
	}
	config, _ := os.ReadFile(s.ConfigPath())
	if strings.Contains(string(config), testSecret.Reveal()) {
		t.Fatal("the config file holds the secret")
	}
	r, err := s.Remove("dev")
	if err != nil || r.SecretMissing {
		t.Fatalf("Remove = %+v, %v", r, err)
	}
	if mem.has("profile:dev") {
		t.Error("secret still in the keyring")
	}
	if _, err := s.Get("dev"); kindOf(t, err) != fail.Usage {
		t.Errorf("Get after Remove: %v", err)
	}
}

func TestAddRefusesDuplicateAndBadName(t *testing.T) {
	s := memStore(t, newMemKeyring())
	if _, err := s.Add(testProfile, testSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(testProfile, testSecret); kindOf(t, err) != fail.Usage || !strings.Contains(fail.HintOf(err), "rotate") {
		t.Errorf("duplicate: %v (hint %q)", err, fail.HintOf(err))
	}
	bad := testProfile
	bad.Name = "../etc"
	if _, err := s.Add(bad, testSecret); kindOf(t, err) != fail.Usage {
		t.Errorf("bad name: %v", err)
	}
}

// TestAddRollsBackWhenConfigCannotBeWritten proves that add stores both
// halves or neither: the config write fails (a directory appears where
// the config file goes, right after the secret is stored), and the secret
// is removed again.
func TestAddRollsBackWhenConfigCannotBeWritten(t *testing.T) {
	mem := newMemKeyring()
	s := memStore(t, mem)
	mem.onSet = func(keyring.Item) error {
		if err := os.MkdirAll(filepath.Join(s.ConfigPath(), "blocker"), 0o700); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	_, err := s.Add(testProfile, testSecret)
	if kindOf(t, err) != fail.Usage || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("err = %v", err)
	}
	if mem.has("profile:dev") {
		t.Error("the secret was left in the keyring")
	}
}

// TestAddLeavesNothingWhenKeyringFails: the keyring refuses the secret,
// and no config entry is written.
func TestAddLeavesNothingWhenKeyringFails(t *testing.T) {
	mem := newMemKeyring()
	mem.onSet = func(keyring.Item) error { return errors.New("The collection is locked") }
	s := memStore(t, mem)
	s.Backend = "secret-service"
	_, err := s.Add(testProfile, testSecret)
	if kindOf(t, err) != fail.Identity || !strings.Contains(fail.HintOf(err), "unlock") {
		t.Fatalf("err = %v (hint %q)", err, fail.HintOf(err))
	}
	if _, err := os.Stat(s.ConfigPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config written: %v", err)
	}
}

func TestSecretRemovedByHand(t *testing.T) {
	mem := newMemKeyring()
	s := memStore(t, mem)
	p, err := s.Add(testProfile, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	_ = mem.Remove("profile:dev")
	_, _, err = s.Secret(p)
	if kindOf(t, err) != fail.Identity || !strings.Contains(fail.HintOf(err), "azexec profile rotate dev") {
		t.Fatalf("err = %v (hint %q)", err, fail.HintOf(err))
	}
	if present, known := s.SecretPresent(p); present || !known {
		t.Errorf("SecretPresent = %v, %v", present, known)
	}
	r, err := s.Remove("dev")
	if err != nil || !r.SecretMissing {
		t.Fatalf("Remove = %+v, %v", r, err)
	}
}

func TestRotateReplacesSecretAndDropsTokens(t *testing.T) {
	mem := newMemKeyring()
	s := memStore(t, mem)
	p, err := s.Add(testProfile, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	own := TokenEntryPrefix(ServicePrincipalIdentity(p.TenantID, p.ClientID)) + "t:scope"
	other := TokenEntryPrefix(ServicePrincipalIdentity(p.TenantID, "another-client")) + "t:scope"
	_ = mem.Set(keyring.Item{Key: own})
	_ = mem.Set(keyring.Item{Key: other})
	if _, err := s.Rotate("dev", "new-secret"); err != nil {
		t.Fatal(err)
	}
	if sec, _, _ := s.Secret(p); sec != "new-secret" {
		t.Error("secret not replaced")
	}
	if mem.has(own) || !mem.has(other) {
		t.Errorf("tokens after rotate: own %v, other %v", mem.has(own), mem.has(other))
	}
	if _, err := s.Rotate("nope", "x"); kindOf(t, err) != fail.Usage {
		t.Errorf("rotate unknown: %v", err)
	}
}

func TestUnknownBackend(t *testing.T) {
	s := NewStore(t.TempDir(), "", nil)
	if _, err := s.Keyring("gnome", true); kindOf(t, err) != fail.Usage {
		t.Errorf("err = %v", err)
	}
}

func TestUnavailableBackend(t *testing.T) {
	s := NewStore(t.TempDir(), "", nil)
	s.open = func(keyring.Config) (keyring.Keyring, error) { return nil, keyring.ErrNoAvailImpl }
	_, err := s.Keyring("secret-service", true)
	if kindOf(t, err) != fail.Identity || !strings.Contains(err.Error(), `"secret-service" is not available`) ||
		!strings.Contains(fail.HintOf(err), "--keyring-backend file") {
		t.Errorf("err = %v (hint %q)", err, fail.HintOf(err))
	}
}

// TestFileBackend runs the real encrypted file backend: the secret is in
// no file in the clear, a wrong passphrase and a missing one are errors
// that say so, and remove needs no passphrase.
func TestFileBackend(t *testing.T) {
	dir := t.TempDir()
	s := fileStore(dir, "right horse battery")
	if _, err := s.Add(testProfile, testSecret); err != nil {
		t.Fatal(err)
	}
	assertNotOnDisk(t, dir, testSecret.Reveal())
	p, _ := s.Get("dev")
	if sec, _, err := s.Secret(p); err != nil || sec != testSecret {
		t.Fatalf("Secret: %v", err)
	}
	if present, known := s.SecretPresent(p); !present || !known {
		t.Errorf("SecretPresent = %v, %v", present, known)
	}

	_, _, err := fileStore(dir, "wrong").Secret(p)
	if kindOf(t, err) != fail.Identity || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: %v", err)
	}
	_, _, err = fileStore(dir, "").Secret(p)
	if kindOf(t, err) != fail.Identity || !strings.Contains(err.Error(), "locked") ||
		!strings.Contains(fail.HintOf(err), "AZEXEC_KEYRING_PASSWORD") {
		t.Errorf("no passphrase: %v (hint %q)", err, fail.HintOf(err))
	}
	// A second profile with a wrong passphrase must not start a second,
	// differently encrypted set of entries.
	second := testProfile
	second.Name = "other"
	if _, err := fileStore(dir, "wrong").Add(second, testSecret); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("add with a wrong passphrase: %v", err)
	}
	if _, err := fileStore(dir, "").Remove("dev"); err != nil {
		t.Errorf("remove without a passphrase: %v", err)
	}
	if names, _ := os.ReadDir(s.FileDir()); len(names) != 0 {
		t.Errorf("file keyring not empty after remove: %v", names)
	}
}

// assertNotOnDisk fails if any file under dir contains secret.
func assertNotOnDisk(t *testing.T, dir, secret string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), secret) {
			t.Errorf("%s holds the secret in the clear", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no file written: the search proves nothing")
	}
}

func TestConfigFileIsValidatedAndListed(t *testing.T) {
	s := memStore(t, newMemKeyring())
	for _, n := range []string{"b", "a"} {
		p := testProfile
		p.Name = n
		if _, err := s.Add(p, testSecret); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := s.List()
	if err != nil || len(ps) != 2 || ps[0].Name != "a" || ps[1].Name != "b" {
		t.Fatalf("List = %+v, %v", ps, err)
	}
	if err := os.WriteFile(s.ConfigPath(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(); kindOf(t, err) != fail.Usage {
		t.Errorf("malformed config: %v", err)
	}
}

// TestFileBackendWithoutColons runs the file backend as on Windows, where
// entry names, which are file names, may not hold ':'.
func TestFileBackendWithoutColons(t *testing.T) {
	colonsInFileNames = false
	defer func() { colonsInFileNames = true }()
	dir := t.TempDir()
	s := fileStore(dir, "passphrase")
	p, err := s.Add(testProfile, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := s.Keyring("file", false)
	if err := k.set(TokenEntryPrefix("id")+"t:https://x/.default", "", "", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(s.FileDir())
	for _, e := range entries {
		if strings.Contains(e.Name(), ":") {
			t.Errorf("file name %q holds a colon", e.Name())
		}
	}
	if sec, _, err := s.Secret(p); err != nil || sec != testSecret {
		t.Fatalf("Secret: %v", err)
	}
	if n, err := ClearTokens(k, TokenPrefix); n != 1 || err != nil {
		t.Errorf("ClearTokens = %d, %v", n, err)
	}
	if _, err := s.Remove("dev"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(s.FileDir()); len(entries) != 0 {
		t.Errorf("left: %v", entries)
	}
}
