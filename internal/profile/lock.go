package profile

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/azexec/azexec/internal/fail"
)

// LockName is the lock file's name beside config.json. It is empty and
// stays in place: removing a lock file lets two processes lock two
// different files of the same name.
const LockName = ConfigName + ".lock"

// errLockBusy is what tryLockFile returns when another process holds the
// lock.
var errLockBusy = errors.New("locked by another process")

// LockPath is the lock file that serializes every change to the profiles.
func (s *Store) LockPath() string { return filepath.Join(s.Dir, LockName) }

// lock takes the store's lock, an exclusive flock(2) (LockFileEx on
// Windows) on LockPath, waiting for another azexec that holds it, and
// returns the function that releases it. Add, Rotate and Remove hold it
// across their whole read-modify-write of config.json and the keyring, so
// that two of them, in two processes or two goroutines, never interleave:
// without it, eight parallel adds kept only two or three profiles and left
// the others' secrets orphaned in the keyring. The lock belongs to the
// open file, so it is released when the process dies, however it dies.
// Readers do not take it: every write replaces its file atomically.
func (s *Store) lock() (unlock func(), err error) {
	path := s.LockPath()
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, lockError(path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, lockError(path, err)
	}
	err = tryLockFile(f)
	if errors.Is(err, errLockBusy) {
		if s.OnWait != nil {
			s.OnWait(path)
		}
		err = lockFile(f)
	}
	if err != nil {
		f.Close()
		return nil, lockError(path, err)
	}
	return func() {
		_ = unlockFile(f)
		f.Close()
	}, nil
}

func lockError(path string, err error) error {
	return fail.New(fail.Usage, "cannot lock %q: %s", path, errText(err)).Wrap(err).
		WithHint("azexec locks this file while it changes a profile; its directory must be writable")
}
