//go:build !unix

package inject

import (
	"context"
	"os"

	"github.com/azexec/azexec/internal/fail"
)

// forwardedSignals is all a non-Unix system can deliver: an interrupt.
var forwardedSignals = []os.Signal{os.Interrupt}

// terminalSignals is empty: without process groups, azexec forwards all.
var terminalSignals = map[os.Signal]bool{}

// stopSignals ask azexec itself to stop (see signals_unix.go).
var stopSignals = []os.Signal{os.Interrupt}

// cancelSignal stops a supervised child when ctx is done; non-Unix systems
// have no SIGTERM.
var cancelSignal os.Signal = os.Kill

// inTerminalForeground is false: there is no foreground group to share.
func inTerminalForeground() bool { return false }

// replace is not possible without execve.
func replace(context.Context, string, Command) (int, error) {
	return statusUsage, fail.New(fail.Usage, "replace mode is not supported on this system").
		WithHint("run without replace mode; azexec then supervises the command")
}

// namedSignals are the signals a non-Unix system can send.
var namedSignals = map[string]os.Signal{"INT": os.Interrupt, "KILL": os.Kill}
