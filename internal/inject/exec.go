package inject

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/mask"
)

// Command is what the child receives: its arguments, its whole
// environment, its working directory and its standard streams.
type Command struct {
	// Argv is the command and its arguments; Argv[0] is looked up on the
	// PATH found in Env.
	Argv []string
	// Env is exactly the child's environment, NAME=VALUE (see Env.Environ).
	// Unlike os/exec, nil means an empty environment: azexec's own is never
	// passed on by accident.
	Env []string
	// Dir is the child's working directory; "" means azexec's.
	Dir string
	// Stdin, Stdout and Stderr are the child's streams. An *os.File is
	// handed over as a file descriptor (the child sees the terminal); nil
	// means the null device, as in os/exec.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ExtraFiles are inherited by the child, for credentials handed over
	// as /dev/fd/N rather than as a path on disk; ChildFD says which N.
	ExtraFiles []*os.File
}

// ChildFD is the descriptor number the child sees for c.ExtraFiles[i]: the
// file's own number when azexec replaces itself (execve keeps it), and
// 3+i when a supervised child gets it through os/exec.
func ChildFD(c Command, i int, replace bool) int {
	if replace {
		return int(c.ExtraFiles[i].Fd())
	}
	return 3 + i
}

// RunOptions chooses how Run runs the child.
type RunOptions struct {
	// Replace makes azexec become the child (execve) instead of
	// supervising it, so signals, the terminal and PID 1 belong to the
	// child. Unix only.
	Replace bool
	// Logger receives decisions (mode, forwarded signals, exit status),
	// never values or arguments. Nil means no logging.
	Logger hclog.Logger
	// KillDelay is how long a supervised child has to exit after ctx is
	// done and it was sent SIGTERM, before it is killed; it also bounds the
	// wait for its output after it exits. Zero means DefaultKillDelay.
	KillDelay time.Duration
	// BeforeStart, when set, runs just before the child starts: after the
	// supervisor listens for the signals it forwards, before execve in
	// replace mode. An error stops Run before anything of the child's is
	// set up, and Run returns it. The wrapper uses it to stop catching the
	// signals that interrupt azexec itself, with no gap in which one would
	// be lost.
	BeforeStart func() error
	// Mask, when set, replaces every value it holds in the child's stdout
	// and stderr (masked.go). Masking needs azexec to read the child's
	// output, so it supervises: Replace is ignored.
	Mask *mask.Masker
}

// DefaultKillDelay is the KillDelay used when none is given: long enough for
// a server to drain, short enough that a stuck child does not hang azexec.
const DefaultKillDelay = 10 * time.Second

// Exit statuses azexec returns on the child's behalf, the shell's
// conventions, so that `azexec -- cmd` reads like `cmd` to a script.
const (
	StatusNotExecutable = 126
	StatusNotFound      = 127
	statusUsage         = 2 // fail.Usage's exit status
	statusSignalBase    = 128
)

// Run runs c and returns the status azexec should exit with: the child's
// exit code, 128+N if signal N killed it, 127 if the command was not found,
// 126 if it could not be executed. err is nil when the child ran, whatever
// its status; otherwise it explains (a fail.Error) why the child did not
// run, or why it was stopped (ctx was done).
//
// PATH is read from c.Env, not from azexec's environment, because the child
// is what runs with it. Cancelling ctx stops a supervised child with SIGTERM,
// then SIGKILL after the KillDelay; callers should not cancel ctx on the
// signals Run forwards, or the child would be told twice.
func Run(ctx context.Context, c Command, opts RunOptions) (status int, err error) {
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if len(c.Argv) == 0 {
		return statusUsage, noCommand()
	}
	if c.Env == nil {
		c.Env = []string{}
	}
	if !opts.Replace || opts.Mask != nil {
		log.Debug("supervising the command", "command", c.Argv[0], "args", len(c.Argv)-1)
		return supervise(ctx, c, opts, log)
	}
	path, err := lookCommand(c)
	if err != nil {
		return ExitStatus(err), err
	}
	log.Debug("replacing azexec with the command", "command", c.Argv[0], "args", len(c.Argv)-1)
	if err := beforeStart(opts); err != nil {
		return 1, err
	}
	return replace(ctx, path, c)
}

// noCommand is the usage error for an empty command line.
func noCommand() error {
	return fail.New(fail.Usage, "no command given").WithHint("azexec [options] -- COMMAND [ARGS...]")
}

// ExitStatus maps an error from running a child to a shell-style exit
// status, for callers that run programs themselves: 0 for nil, the exit code
// of an *exec.ExitError (128+N when signal N killed the child), 127 and 126
// for fail.NotFound and fail.NotExecutable, 2 for fail.Usage (as Run
// returns them). It returns -1 for any other error, which is not a child's
// status: the caller's own table decides.
func ExitStatus(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stateStatus(ee.ProcessState)
	}
	switch fail.KindOf(err) {
	case fail.NotFound:
		return StatusNotFound
	case fail.NotExecutable:
		return StatusNotExecutable
	case fail.Usage:
		return statusUsage
	}
	return -1
}

// stateStatus is the shell's view of a finished process.
func stateStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return statusSignalBase + int(ws.Signal())
	}
	return ps.ExitCode()
}

// lookCommand finds the program to execute for c.Argv[0]: a name with a
// slash is a path (relative to c.Dir), any other name is searched on
// c.Env's PATH.
func lookCommand(c Command) (string, error) {
	name := c.Argv[0]
	if strings.ContainsRune(name, '/') {
		return name, checkPath(name, filepath.Join(c.Dir, name))
	}
	pathList, ok := lastValue(c.Env, "PATH")
	if !ok {
		return "", notFound(name).WithHint(
			"PATH is not set in the command's environment; give a path such as /usr/bin/%s", name)
	}
	return searchPath(name, pathList)
}

// lastValue returns the value of the last NAME=... entry in environ, the
// one exec's users see.
func lastValue(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(environ[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// checkPath checks a command given as a path, as a shell would: missing is
// 127, a directory or a file without execute permission is 126.
func checkPath(name, path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notFound(name).WithHint("check the path; it is relative to the working directory")
	case err != nil:
		return notExecutable(name, "cannot be reached").Wrap(err)
	case fi.IsDir():
		return notExecutable(name, "is a directory")
	case !isExecutable(fi):
		return notExecutable(name, "is not executable")
	}
	return nil
}

// searchPath looks name up on pathList. Like os/exec, it ignores relative
// entries (including the empty one, which means "."): running a program from
// the current directory because PATH says so is how a planted binary gets
// run. Like a shell, it skips directories and, when only non-executable
// files match, says so (126) rather than "not found".
func searchPath(name, pathList string) (string, error) {
	denied := false
	for _, dir := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(dir) {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		switch {
		case err != nil || fi.IsDir():
			continue
		case isExecutable(fi):
			return path, nil
		default:
			denied = true
		}
	}
	if denied {
		return "", notExecutable(name, "is not executable")
	}
	return "", notFound(name).WithHint(
		"check PATH in the command's environment; a program in the current directory needs a path such as ./%s", name)
}

// isExecutable reports whether any execute bit is set on a regular file.
func isExecutable(fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// notFound is the 127 error for name.
func notFound(name string) *fail.Error {
	return fail.New(fail.NotFound, "command %q not found", name)
}

// notExecutable is the 126 error for name, with a reason that never holds
// a value.
func notExecutable(name, reason string) *fail.Error {
	e := fail.New(fail.NotExecutable, "command %q %s", name, reason)
	if reason == "is not executable" {
		e = e.WithHint("check the file's mode (chmod +x) and that its file system allows execution")
	}
	return e
}

// startFailure explains why a resolved command could not be started.
func startFailure(name string, err error) (int, error) {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "chdir" {
		e := fail.New(fail.Usage, "working directory %q cannot be used", pe.Path).Wrap(err)
		return statusUsage, e
	}
	var errno syscall.Errno
	errors.As(err, &errno)
	e := notExecutable(name, startReason(errno)).Wrap(err)
	switch errno {
	case syscall.ENOEXEC:
		e = e.WithHint("a script needs a first line such as #!/bin/sh")
	case syscall.ENOENT:
		e = e.WithHint("check the interpreter named on the script's #! line")
	}
	return StatusNotExecutable, e
}

// startReason describes an exec failure in words of its own, since the
// system's text is not written for this.
func startReason(errno syscall.Errno) string {
	switch errno {
	case syscall.EACCES, syscall.EPERM:
		return "is not executable"
	case syscall.ENOEXEC:
		return "is not a program this system can run"
	case syscall.ENOENT:
		return "cannot be started: its interpreter was not found"
	case syscall.E2BIG:
		return "cannot be started: arguments and environment are too long"
	}
	return "cannot be started"
}

// beforeStart runs opts.BeforeStart, if any.
func beforeStart(opts RunOptions) error {
	if opts.BeforeStart == nil {
		return nil
	}
	return opts.BeforeStart()
}
