package harden

import "golang.org/x/sys/unix"

// Process makes azexec non-dumpable and sets its soft core-file limit to 0
// (see the package documentation). Call it first in main, before anything
// secret is read. An error means the process is not hardened (a seccomp
// filter refusing prctl, say); the caller should say so.
func Process() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return err
	}
	return limitCore()
}

// Dumpable reports whether the process is dumpable, for tests and debug
// logs.
func Dumpable() bool {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return err != nil || v != 0
}
