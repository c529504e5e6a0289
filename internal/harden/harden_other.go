//go:build !unix

package harden

// Process does nothing: Windows has no core files to stop and no
// equivalent of PR_SET_DUMPABLE for a process of the same user (see the
// package documentation).
func Process() error { return nil }

// Dumpable reports true: nothing here protects the process.
func Dumpable() bool { return true }

// RestoreForExec does nothing: there is no limit to restore.
func RestoreForExec() (undo func()) { return func() {} }
