//go:build !linux

package inject

import "github.com/hashicorp/go-hclog"

// reaper is Linux only: elsewhere azexec is not a container's PID 1, and
// its orphans go to init.
type reaper struct{}

// startReaper returns nil: nothing to reap off Linux.
func startReaper(int, hclog.Logger) *reaper { return nil }

// stop does nothing.
func (*reaper) stop() {}

// setMain does nothing.
func (*reaper) setMain(int) {}
