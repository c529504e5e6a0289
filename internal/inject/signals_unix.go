//go:build unix

package inject

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals is the fixed list a supervised child is sent when azexec
// receives them: the ones a service manager, a terminal or a user sends to
// stop, reload or resize a program. Never every signal: SIGURG is the Go
// runtime's preemption signal, SIGCHLD and SIGPIPE concern azexec itself,
// SIGTSTP/SIGCONT are job control that the process group already shares.
var forwardedSignals = []os.Signal{
	syscall.SIGHUP,
	syscall.SIGINT,
	syscall.SIGQUIT,
	syscall.SIGTERM,
	syscall.SIGUSR1,
	syscall.SIGUSR2,
	syscall.SIGWINCH,
}

// terminalSignals are the forwarded signals a terminal sends to its whole
// foreground process group, child included (see forwarder).
var terminalSignals = map[os.Signal]bool{
	syscall.SIGINT:   true,
	syscall.SIGQUIT:  true,
	syscall.SIGWINCH: true,
}

// stopSignals ask azexec itself to stop: one that arrives while --watch
// restarts COMMAND means the next process is not started.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT}

// cancelSignal asks a supervised child to stop when ctx is done.
var cancelSignal os.Signal = syscall.SIGTERM

// inTerminalForeground reports whether azexec's process group is the
// foreground group of its controlling terminal, the group the keyboard's
// signals go to. No controlling terminal means no.
func inTerminalForeground() bool {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return false
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == syscall.Getpgrp()
}

// namedSignals are the signals --watch-signal and --watch-reload accept:
// those a program conventionally reads as "stop" or "reload".
var namedSignals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "TERM": syscall.SIGTERM,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH, "KILL": syscall.SIGKILL,
}
