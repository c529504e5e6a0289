package inject

import (
	"context"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"
)

// TerminalIdle is how long output to an interactive terminal may stay
// held back because it could begin a masked value: after that long
// without output it is shown as it is (see package mask), so that a
// prompt without a newline shows, and typed input is echoed, without a
// delay anyone notices.
const TerminalIdle = 50 * time.Millisecond

// childStreams gives a supervised child streams other than its Command's
// (a pseudo-terminal): prepare sets them on cmd before it starts, started
// runs once it has, finish (called at least once on every path) drains
// the child's output and puts azexec's terminal back as it found it.
type childStreams interface {
	prepare(cmd *exec.Cmd, fwd *forwarder) error
	started()
	finish()
}

// superviseMasked supervises the child with its output masked by
// opts.Mask. When azexec's stdout or stderr is a terminal the child gets a
// pseudo-terminal of its own there, whose output azexec masks
// (pty_unix.go); its other output streams, like both when there is no
// terminal, are pipes that azexec reads and masks, stdout and stderr
// apart, so that each keeps its order and a reader still tells them apart.
// A terminal on stdin alone is left to the child as it is: whatever reads
// azexec's output (`azexec -- make | less`) may be reading the keyboard.
func superviseMasked(ctx context.Context, path string, c Command, opts RunOptions, log hclog.Logger) (int, error) {
	if isTerminal(c.Stdout) || isTerminal(c.Stderr) {
		if pty, ok := newPTYStreams(c, opts.Mask, log); ok {
			log.Debug("masking the command's output on a pseudo-terminal", "values", opts.Mask.Len())
			return superviseWith(ctx, path, c, opts, log, pty)
		}
	}
	log.Debug("masking the command's output through pipes", "values", opts.Mask.Len())
	return superviseWith(ctx, path, c, opts, log, newMaskPipes(opts.Mask, log))
}

// isTerminal reports whether s is a file on a terminal.
func isTerminal(s any) bool {
	f, ok := s.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}
