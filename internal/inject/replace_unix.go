//go:build unix

package inject

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/harden"
)

// replace makes azexec become the child with execve: same PID, same
// terminal, signals delivered straight to the child. It returns only when
// that fails.
func replace(ctx context.Context, path string, c Command) (int, error) {
	if err := ctx.Err(); err != nil {
		return 1, fmt.Errorf("command %q not started: %w", c.Argv[0], err)
	}
	if err := redirect(c.Stdin, c.Stdout, c.Stderr); err != nil {
		return statusUsage, err
	}
	if c.Dir != "" {
		if err := os.Chdir(c.Dir); err != nil {
			return startFailure(c.Argv[0], &os.PathError{Op: "chdir", Path: c.Dir, Err: err})
		}
	}
	for _, f := range c.ExtraFiles {
		// Keep the descriptor open across execve: ChildFD promised the
		// child this very number.
		if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
			return startFailure(c.Argv[0], err)
		}
	}
	// From execve on, this process is COMMAND: it gets the core-file limit
	// azexec was started with, and execve itself makes it dumpable again.
	undo := harden.RestoreForExec()
	err := syscall.Exec(path, c.Argv, c.Env)
	undo()
	return startFailure(c.Argv[0], err)
}

// redirect puts the child's streams on descriptors 0, 1 and 2, which is
// how execve hands them over. Each is first duplicated above 2 (close on
// exec), so that swapping two of them cannot clobber one.
func redirect(streams ...any) error {
	fds := make([]int, 0, len(streams))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for i, s := range streams {
		fd, err := streamFD(s, i)
		if err != nil {
			return err
		}
		fds = append(fds, fd)
	}
	for i, fd := range fds {
		if err := unix.Dup2(fd, i); err != nil {
			return streamError(i, err)
		}
	}
	return nil
}

// streamFD returns a close-on-exec duplicate of stream i's descriptor: the
// file's own, or the null device's for nil.
func streamFD(s any, i int) (int, error) {
	switch f := s.(type) {
	case *os.File:
		return dupHigh(f, i)
	case nil:
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return 0, streamError(i, err)
		}
		defer null.Close()
		return dupHigh(null, i)
	}
	return 0, fail.New(fail.Usage, "replace mode needs standard stream %d to be a file", i).
		WithHint("pass *os.File streams, or supervise the command instead")
}

// dupHigh duplicates f's descriptor above the standard ones, close on exec.
func dupHigh(f *os.File, i int) (int, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return 0, streamError(i, err)
	}
	return fd, nil
}

// streamError reports a failure to set up standard stream i.
func streamError(i int, err error) error {
	return fail.New(fail.Usage, "cannot set up standard stream %d for the command", i).Wrap(err)
}
