package profile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/azexec/azexec/internal/keyring"

	"github.com/azexec/azexec/internal/fail"
)

// TestLockSerializesReadModifyWrite runs read-increment-write cycles on a
// counter file from goroutines that each open the lock file themselves,
// as separate processes do. Without the lock, increments are lost.
func TestLockSerializesReadModifyWrite(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "counter")
	if err := os.WriteFile(counter, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewStore(dir, "", nil)
			for range rounds {
				unlock, err := s.lock()
				if err != nil {
					errs <- err
					return
				}
				data, _ := os.ReadFile(counter)
				n, _ := strconv.Atoi(string(data))
				runtime.Gosched() // invite another writer in between
				err = writeFileAtomic(counter, ".counter-*", []byte(strconv.Itoa(n+1)))
				unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(counter)
	if got := string(data); got != strconv.Itoa(workers*rounds) {
		t.Errorf("counter = %s, want %d: increments were lost", got, workers*rounds)
	}
}

// TestLockIsExclusive: while one Store holds the lock, another open file
// cannot take it, and a second Store waits (and says so through OnWait)
// until the first lets go.
func TestLockIsExclusive(t *testing.T) {
	dir := t.TempDir()
	first := NewStore(dir, "", nil)
	unlock, err := first.lock()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(first.LockPath(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tryLockFile(f); !errors.Is(err, errLockBusy) {
		t.Fatalf("second lock while held: %v, want busy", err)
	}

	second := NewStore(dir, "", nil)
	waiting := make(chan string, 1)
	second.OnWait = func(path string) { waiting <- path }
	got := make(chan error, 1)
	go func() {
		u, err := second.lock()
		if err == nil {
			u()
		}
		got <- err
	}()
	if path := <-waiting; path != first.LockPath() {
		t.Errorf("OnWait(%q), want %q", path, first.LockPath())
	}
	select {
	case err := <-got:
		t.Fatalf("the second store took the lock while the first held it (err %v)", err)
	default:
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := tryLockFile(f); err != nil {
		t.Errorf("lock after both released: %v", err)
	}
	if st, err := os.Stat(first.LockPath()); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", st, err)
	}
}

// TestWriteFileAtomicNeverTruncates: a reader that opened the old file
// still reads all of it after the write (the new file replaced it; it was
// not truncated and rewritten), the new file is 0600, and no temporary
// file is left behind.
func TestWriteFileAtomicNeverTruncates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	old := strings.Repeat("old content ", 100)
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := writeFileAtomic(path, ".config-*.json", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if data, _ := readAll(r); string(data) != old {
		t.Errorf("the open old file now reads %d bytes, want the %d it had: it was written in place", len(data), len(old))
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("file = %q", data)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	assertOnlyFiles(t, dir, "config.json")
}

// TestWriteFileAtomicFailureKeepsOld: when the rename fails (a directory
// where the file goes) nothing is left but what was there.
func TestWriteFileAtomicFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.MkdirAll(filepath.Join(path, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(path, ".config-*.json", []byte("new")); err == nil {
		t.Fatal("write over a directory succeeded")
	}
	assertOnlyFiles(t, dir, "config.json")
}

func readAll(f *os.File) ([]byte, error) {
	var out []byte
	buf := make([]byte, 512)
	for {
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, nil
		}
	}
}

// assertOnlyFiles fails unless dir holds exactly the names given.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

// TestConcurrentAddsKeepEveryProfile is the attack of the issue in one
// process: sixteen adds at once, each through its own Store (its own lock
// file handle, as separate processes have), on the real file backend.
// Every profile must be in the config and have its secret.
func TestConcurrentAddsKeepEveryProfile(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := testProfile
			p.Name = "p" + strconv.Itoa(i)
			if _, err := fileStore(dir, "passphrase").Add(p, Secret("secret-"+p.Name)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := fileStore(dir, "passphrase")
	ps, err := s.List()
	if err != nil || len(ps) != n {
		t.Fatalf("%d profiles in the config, want %d (%v)", len(ps), n, err)
	}
	for _, p := range ps {
		if sec, _, err := s.Secret(p); err != nil || sec.Reveal() != "secret-"+p.Name {
			t.Errorf("profile %s: secret wrong or missing (%v)", p.Name, err)
		}
	}
	assertOnlyFiles(t, dir, "config.json", "config.json.lock", "keyring")
}

// TestConcurrentAddsOfOneName: eight adds of one name at once, each for
// another service principal: exactly one succeeds, the others are told
// the profile exists, and the secret stored is the winner's.
func TestConcurrentAddsOfOneName(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := testProfile
			p.ClientID = "0b4e3f7c-1111-2222-3333-44445555000" + strconv.Itoa(i)
			_, err := fileStore(dir, "passphrase").Add(p, Secret("secret-of-"+p.ClientID))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case fail.KindOf(err) != fail.Usage || !strings.Contains(err.Error(), "already exists"):
				t.Errorf("add %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d adds succeeded, want 1", won)
	}
	s := fileStore(dir, "passphrase")
	p, err := s.Get("dev")
	if err != nil {
		t.Fatal(err)
	}
	if sec, _, err := s.Secret(p); err != nil || sec.Reveal() != "secret-of-"+p.ClientID {
		t.Errorf("the config names client %s but the keyring holds another's secret (%v)", p.ClientID, err)
	}
}

// failingRemove is a memKeyring whose Remove fails, as a locked Secret
// Service does.
type failingRemove struct{ *memKeyring }

func (failingRemove) Remove(string) error { return errors.New("The collection is locked") }

// TestRemoveIsAllOrNothing: when the keyring refuses to remove the
// secret, the config entry is written back: the profile stays whole.
func TestRemoveIsAllOrNothing(t *testing.T) {
	mem := newMemKeyring()
	s := memStore(t, mem)
	if _, err := s.Add(testProfile, testSecret); err != nil {
		t.Fatal(err)
	}
	s2 := NewStore(s.Dir, "secret-service", nil)
	s2.open = func(keyring.Config) (keyring.Keyring, error) { return failingRemove{mem}, nil }
	_, err := s2.Remove("dev")
	if kindOf(t, err) != fail.Identity || !strings.Contains(err.Error(), "nothing was removed") || !strings.Contains(fail.HintOf(err), "unlock") {
		t.Fatalf("err = %v (hint %q)", err, fail.HintOf(err))
	}
	if _, err := s.Get("dev"); err != nil {
		t.Errorf("config entry gone although the secret stays: %v", err)
	}
	if !mem.has("profile:dev") {
		t.Error("secret gone")
	}
}

// TestRemoveLeavesSecretWhenConfigCannotBeWritten: the config write fails
// and the secret is not touched.
func TestRemoveLeavesSecretWhenConfigCannotBeWritten(t *testing.T) {
	mem := newMemKeyring()
	s := memStore(t, mem)
	if _, err := s.Add(testProfile, testSecret); err != nil {
		t.Fatal(err)
	}
	// Once the config is read, a directory takes its place, which the
	// rename cannot replace (root or not).
	s2 := NewStore(s.Dir, "keyctl", nil)
	s2.open = func(keyring.Config) (keyring.Keyring, error) {
		if err := os.Rename(s.ConfigPath(), s.ConfigPath()+".moved"); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(s.ConfigPath(), "blocker"), 0o700); err != nil {
			t.Fatal(err)
		}
		return mem, nil
	}
	if _, err := s2.Remove("dev"); err == nil || !strings.Contains(err.Error(), "nothing was removed") {
		t.Fatalf("remove: %v", err)
	}
	if !mem.has("profile:dev") {
		t.Error("the secret was removed although the config entry stays")
	}
}

// TestRotateProfileRefusesReplacedProfile: a profile removed and added
// again for another service principal while the secret was being typed
// does not receive the secret meant for the first.
func TestRotateProfileRefusesReplacedProfile(t *testing.T) {
	mem := newMemKeyring()
	s := memStore(t, mem)
	old, err := s.Add(testProfile, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove("dev"); err != nil {
		t.Fatal(err)
	}
	other := testProfile
	other.ClientID = "0b4e3f7c-9999-2222-3333-444455556666"
	if _, err := s.Add(other, "other-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateProfile(old, "meant-for-the-old-one"); kindOf(t, err) != fail.Usage || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("err = %v", err)
	}
	p, _ := s.Get("dev")
	if sec, _, _ := s.Secret(p); sec != "other-secret" {
		t.Error("the replaced profile's secret was overwritten")
	}
}

// TestRelativeEnvFilesRefused: a profile naming a relative default env
// file is refused when added and when used.
func TestRelativeEnvFilesRefused(t *testing.T) {
	p := testProfile
	p.EnvFiles = []string{filepath.Join(string(filepath.Separator), "abs", "ok.env"), "app.env"}
	err := p.CheckEnvFiles()
	if kindOf(t, err) != fail.Usage || !strings.Contains(err.Error(), `"app.env"`) || !strings.Contains(fail.HintOf(err), "add the profile again") {
		t.Errorf("err = %v (hint %q)", err, fail.HintOf(err))
	}
	s := memStore(t, newMemKeyring())
	if _, err := s.Add(p, testSecret); kindOf(t, err) != fail.Usage {
		t.Errorf("add: %v", err)
	}
	p.EnvFiles = p.EnvFiles[:1]
	if err := p.CheckEnvFiles(); err != nil {
		t.Errorf("absolute path refused: %v", err)
	}
}
