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

// ptyStreams gives the child a pseudo-terminal for each of its stdout and
// stderr that is a terminal for azexec, so that colours, progress bars,
// line editing and full-screen programs work as without azexec, while
// everything the child writes to it passes through the masker. It does
// what creack/pty's Start and its README's shell example do:
//   - when azexec's stdin is a terminal as well as its stdout, the child
//     gets the pseudo-terminal as stdin too and starts a session of its
//     own with it as its controlling terminal (Setsid, Setctty), so that
//     job control and the keys' signals work inside it; azexec's terminal
//     goes into raw mode, so that every key (Ctrl-C included) reaches the
//     child's terminal, which acts on it. finish restores it on every
//     path: the child exiting, crashing or killed by a signal azexec
//     forwarded, and a failed start. Only SIGKILL to azexec itself leaves
//     it raw (`reset` or `stty sane` repairs it);
//   - otherwise (stdout or stderr alone is a terminal: `azexec -- make >
//     log`, `cmd | azexec -- filter`) the pseudo-terminal is for output
//     only: stdin stays what it was, nothing goes raw, and the child stays
//     in azexec's process group with azexec's terminal as its controlling
//     one, exactly as under --supervise. A program reading the keyboard
//     next to azexec (`azexec -- make | less`) keeps it to itself;
//   - azexec closes its copy of the terminal's child side once the child
//     has started, so that reading the other side ends (EIO) when the
//     child and whatever it started have closed theirs;
//   - the window size is copied at start and on every SIGWINCH.
type ptyStreams struct {
	c    Command
	m    *mask.Masker
	log  hclog.Logger
	term *os.File // azexec's terminal: stdout, else stderr
	// onTTY says which of the child's stdin, stdout and stderr get the
	// pseudo-terminal; session is set when stdin does (and stdout).
	onTTY     [3]bool
	session   bool
	ptmx, tty *os.File
	restore   func()
	out       *mask.Writer // the pseudo-terminal's output, masked
	pipes     []io.Writer  // the child's stdout and stderr, masked pipes among them
	copied    chan struct{}
	delay     time.Duration
	once      sync.Once
}

// newPTYStreams decides the child's terminal from azexec's streams; false
// when neither stdout nor stderr is a file on a terminal.
func newPTYStreams(c Command, m *mask.Masker, log hclog.Logger) (childStreams, bool) {
	p := &ptyStreams{c: c, m: m, log: log, copied: make(chan struct{})}
	p.onTTY[1], p.onTTY[2] = isTerminal(c.Stdout), isTerminal(c.Stderr)
	switch {
	case p.onTTY[1]:
		p.term = c.Stdout.(*os.File)
		p.session = isTerminal(c.Stdin)
		p.onTTY[0] = p.session
	case p.onTTY[2]:
		p.term = c.Stderr.(*os.File)
	default:
		return nil, false
	}
	return p, true
}

// prepare opens the pseudo-terminal, copies the window size, puts azexec's
// terminal into raw mode (session) and hands the child its streams.
func (p *ptyStreams) prepare(cmd *exec.Cmd, fwd *forwarder) error {
	var err error
	p.ptmx, p.tty, err = pty.Open()
	if err != nil {
		return fmt.Errorf("masking: cannot open a pseudo-terminal for the command: %w", err)
	}
	p.delay = cmd.WaitDelay
	p.resize()
	fwd.resize = p.resize
	if p.onTTY[0] {
		cmd.Stdin = p.tty
	}
	for i, w := range []*io.Writer{&cmd.Stdout, &cmd.Stderr} {
		switch {
		case p.onTTY[i+1]:
			*w = p.tty
		case *w != nil:
			*w = p.m.NewWriter(*w, 0) // a pipe of os/exec's, masked; closed by finish
		}
	}
	if p.session {
		fwd.ownSession = true
		fd := int(p.c.Stdin.(*os.File).Fd())
		state, err := term.MakeRaw(fd)
		if err != nil {
			p.ptmx.Close()
			p.tty.Close()
			return fmt.Errorf("masking: cannot put the terminal into raw mode: %w", err)
		}
		p.restore = func() { _ = term.Restore(fd, state) }
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	p.out = p.m.NewWriter(p.term, TerminalIdle)
	p.pipes = []io.Writer{cmd.Stdout, cmd.Stderr}
	return nil
}

// started closes azexec's copy of the child's side and starts copying:
// keys to the child when stdin is a terminal, and its output, masked, to
// the display.
func (p *ptyStreams) started() {
	p.tty.Close()
	p.tty = nil
	if p.session {
		in := p.c.Stdin.(*os.File)
		go func() { _, _ = io.Copy(p.ptmx, in) }() // ends with azexec: a read of the terminal cannot be interrupted
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
			if mw, ok := w.(*mask.Writer); ok {
				_ = mw.Close()
			}
		}
		if p.ptmx != nil {
			p.ptmx.Close()
		}
		if p.restore != nil {
			p.restore()
		}
	})
}
