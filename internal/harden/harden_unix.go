//go:build unix

package harden

import (
	"sync"

	"golang.org/x/sys/unix"
)

// saved is the core-file limit azexec was started with, kept by limitCore
// for RestoreForExec.
var saved struct {
	sync.Mutex
	limit *unix.Rlimit
}

// limitCore sets the soft RLIMIT_CORE to 0 and remembers the old one. The
// hard limit stays: lowering it could not be undone without privilege, so
// COMMAND could never get core files again.
func limitCore() error {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &old); err != nil {
		return err
	}
	saved.Lock()
	defer saved.Unlock()
	if saved.limit == nil {
		saved.limit = &old
	}
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: old.Max})
}

// RestoreForExec puts back the core-file limit azexec was started with,
// just before azexec replaces itself with COMMAND (execve): from then on
// the process is COMMAND, which should get exactly the limit its caller
// gave. It returns the function that undoes it, for when execve fails and
// azexec carries on. Without an earlier Process it does nothing.
//
// A supervised COMMAND keeps the soft limit 0. Go starts a child with
// fork and execve and runs no code of ours in between, so the only ways to
// give it the old limit are to raise azexec's own before starting it (a
// window in which azexec, holding the secrets, could dump core) or to
// raise the child's from outside with prlimit after it started (racy: the
// child may already have read its limit or forked). Both are worse than a
// documented, predictable 0. The hard limit is untouched, so COMMAND (or a
// wrapper script) can restore core files itself with `ulimit -c unlimited`
// or setrlimit.
func RestoreForExec() (undo func()) {
	saved.Lock()
	defer saved.Unlock()
	if saved.limit == nil {
		return func() {}
	}
	old := *saved.limit
	if unix.Setrlimit(unix.RLIMIT_CORE, &old) != nil {
		return func() {}
	}
	return func() { _ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: old.Max}) }
}
