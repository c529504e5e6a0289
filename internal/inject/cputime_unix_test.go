//go:build unix

package inject

import (
	"syscall"
	"time"
)

// cpuTime is the user and system time this process has used so far, for
// benchmarks that should not depend on how busy the machine is.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
