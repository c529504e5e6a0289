//go:build unix

package profile

import (
	"errors"
	"os"
	"syscall"
)

// tryLockFile takes an exclusive flock on f without waiting; errLockBusy
// when another open file holds it.
func tryLockFile(f *os.File) error {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLockBusy
	}
	return err
}

// lockFile takes an exclusive flock on f, waiting as long as it takes.
func lockFile(f *os.File) error { return flock(f, syscall.LOCK_EX) }

// unlockFile releases f's flock (closing f would too).
func unlockFile(f *os.File) error { return flock(f, syscall.LOCK_UN) }

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
