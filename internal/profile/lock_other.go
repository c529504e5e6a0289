//go:build !unix && !windows

package profile

import "os"

// On platforms with neither flock(2) nor LockFileEx (Plan 9, WebAssembly)
// the lock is a no-op: changes are still written atomically, so a file is
// never half written, but two concurrent profile commands may lose one of
// their changes. docs/profiles.md says so.

func tryLockFile(*os.File) error { return nil }

func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
