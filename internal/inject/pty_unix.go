//go:build unix

package inject

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"

	"github.com/azexec/azexec/internal/mask"
)

// winchSignal is the window-size change, which a pseudo-terminal's child
// learns of from the kernel when azexec resizes its terminal.
var winchSignal os.Signal = syscall.SIGWINCH

// ptyStreams gives the child a pseudo-terminal for each of its standard
// streams that is a terminal for azexec, so that colours, progress bars,
// line editing and full-screen programs work as without azexec, while
// everything the child writes to it passes through the masker. It does
// what creack/pty's Start and its README's shell example do:
//   - the child starts a session of its own with the pseudo-terminal as
//     its controlling terminal (Setsid, Setctty), so that job control and
//     the keyboard's signals work inside it;
//   - azexec closes its copy of the terminal's child side once the child
//     has started, so that reading the other side ends (EIO) when the
//     child and whatever it started have closed theirs;
//   - the window size is copied at start and on every SIGWINCH;
//   - when azexec's stdin is a terminal it goes into raw mode, so that
//     every key (Ctrl-C included) reaches the child's terminal, which
//     then acts on it; finish restores it, on every path: the child
//     exiting, crashing or killed by a signal azexec forwarded, and a
//     failed start. Only SIGKILL to azexec itself leaves it raw (`reset`
//     or `stty sane` repairs it).
type ptyStreams struct {
	c    Command
	m    *mask.Masker
	log  hclog.Logger
	term *os.File // azexec's terminal: stdin if it is one, else stdout
	// onTTY says which of the child's stdin, stdout and stderr get the
	// pseudo-terminal: those that are a terminal for azexec.
	onTTY     [3]bool
	ptmx, tty *os.File
	restore   func()
	out       *mask.Writer // the pseudo-terminal's output, masked
	pipes     []*mask.Writer
	copied    chan struct{}
	delay     time.Duration
	once      sync.Once
}

// newPTYStreams decides the child's terminal from azexec's streams; false
// when none of them is a file on a terminal.
func newPTYStreams(c Command, m *mask.Masker, log hclog.Logger) (childStreams, bool) {
	p := &ptyStreams{c: c, m: m, log: log, copied: make(chan struct{})}
	for i, s := range []any{c.Stdin, c.Stdout, c.Stderr} {
		p.onTTY[i] = isTerminal(s)
	}
	switch {
	case p.onTTY[0]:
		p.term = c.Stdin.(*os.File)
	case p.onTTY[1]:
		p.term = c.Stdout.(*os.File)
	default:
		return nil, false
	}
	return p, true
}

// prepare opens the pseudo-terminal, copies the window size, puts azexec's
// terminal into raw mode and hands the child its streams.
func (p *ptyStreams) prepare(cmd *exec.Cmd, fwd *forwarder) error {
	var err error
	p.ptmx, p.tty, err = pty.Open()
	if err != nil {
		return fmt.Errorf("masking: cannot open a pseudo-terminal for the command: %w", err)
	}
	p.delay = cmd.WaitDelay
	p.resize()
	fwd.ownSession, fwd.resize = true, p.resize
	if p.onTTY[0] {
		fd := int(p.term.Fd())
		state, err := term.MakeRaw(fd)
		if err != nil {
			p.ptmx.Close()
			p.tty.Close()
			return fmt.Errorf("masking: cannot put the terminal into raw mode: %w", err)
		}
		p.restore = func() { _ = term.Restore(fd, state) }
	}
	ctty := -1
	streams := []any{&cmd.Stdin, &cmd.Stdout, &cmd.Stderr}
	for i, on := range p.onTTY {
		if on {
			if ctty < 0 {
				ctty = i
			}
			switch s := streams[i].(type) {
			case *io.Reader:
				*s = p.tty
			case *io.Writer:
				*s = p.tty
			}
		}
	}
	for i, w := range []*io.Writer{&cmd.Stdout, &cmd.Stderr} {
		if !p.onTTY[i+1] && *w != nil {
			mw := p.m.NewWriter(*w, 0)
			p.pipes = append(p.pipes, mw)
			*w = mw
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: ctty}
	p.out = p.m.NewWriter(p.display(), TerminalIdle)
	return nil
}

// display is where the pseudo-terminal's output goes: azexec's stdout or
// stderr, whichever is a terminal, or else the terminal of its stdin
// (which then only echoes what is typed).
func (p *ptyStreams) display() io.Writer {
	switch {
	case p.onTTY[1]:
		return p.c.Stdout
	case p.onTTY[2]:
		return p.c.Stderr
	}
	return p.term
}

// started closes azexec's copy of the child's side and starts copying:
// keys to the child when stdin is a terminal, and its output, masked, to
// the display.
func (p *ptyStreams) started() {
	p.tty.Close()
	p.tty = nil
	if p.onTTY[0] {
		go func() { _, _ = io.Copy(p.ptmx, p.term) }() // ends with azexec: a read of the terminal cannot be interrupted
	}
	go func() {
		defer close(p.copied)
		_, err := p.out.ReadFrom(p.ptmx)
		if err != nil && !errors.Is(err, syscall.EIO) {
			p.log.Debug("reading the command's terminal failed", "error", err.Error())
		}
	}()
}

// resize copies azexec's window size to the child's terminal.
func (p *ptyStreams) resize() {
	if err := pty.InheritSize(p.term, p.ptmx); err != nil {
		p.log.Debug("window size not copied", "error", err.Error())
	}
}

// finish waits (at most the kill delay) for the child's terminal to be
// drained, writes what was held, and restores azexec's terminal. Once.
func (p *ptyStreams) finish() {
	p.once.Do(func() {
		if p.tty != nil { // never started
			p.tty.Close()
		} else {
			select {
			case <-p.copied:
			case <-time.After(p.delay):
				p.log.Warn("the command exited but its terminal stayed open; stopped waiting")
			}
		}
		if p.out != nil {
			_ = p.out.Close()
		}
		for _, w := range p.pipes {
			_ = w.Close()
		}
		if p.ptmx != nil {
			p.ptmx.Close()
		}
		if p.restore != nil {
			p.restore()
		}
	})
}
