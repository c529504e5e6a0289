//go:build unix && !linux

package harden

// Process sets azexec's soft core-file limit to 0 (see the package
// documentation). These systems have no PR_SET_DUMPABLE: /proc (where
// there is one), ps and same-user debugging are left as the system has
// them. Call it first in main.
func Process() error { return limitCore() }

// Dumpable reports true: nothing here makes a process non-dumpable.
func Dumpable() bool { return true }
