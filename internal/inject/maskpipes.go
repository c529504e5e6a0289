package inject

import (
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/mask"
)

// maskPipes gives the child a pipe for each of stdout and stderr (that is
// not the null device) and copies each, masked, to where the Command's
// stream goes: two pipes, so that each stream keeps its order and a reader
// still tells them apart. Its own pipes rather than os/exec's, so that
// they can be made large (growPipe): the child then writes, and azexec
// reads, a megabyte at a time instead of 64 KiB, which is most of the
// cost of a copy through azexec.
type maskPipes struct {
	m       *mask.Masker
	log     hclog.Logger
	dst     []io.Writer
	writers []*mask.Writer
	readers []*os.File
	ends    []*os.File // the child's ends, closed once it has them
	copies  sync.WaitGroup
	delay   time.Duration
	once    sync.Once
}

func newMaskPipes(m *mask.Masker, log hclog.Logger) *maskPipes {
	return &maskPipes{m: m, log: log}
}

// prepare replaces cmd's stdout and stderr by pipes.
func (p *maskPipes) prepare(cmd *exec.Cmd, _ *forwarder) error {
	p.delay = cmd.WaitDelay
	for _, s := range []*io.Writer{&cmd.Stdout, &cmd.Stderr} {
		if *s == nil {
			continue // the null device: nothing to mask
		}
		r, w, err := os.Pipe()
		if err != nil {
			p.closeAll()
			return err
		}
		growPipe(w)
		p.dst = append(p.dst, *s)
		p.readers, p.ends = append(p.readers, r), append(p.ends, w)
		p.writers = append(p.writers, p.m.NewWriter(*s, 0))
		*s = w
	}
	return nil
}

// started closes azexec's copies of the child's ends and starts copying.
func (p *maskPipes) started() {
	for _, w := range p.ends {
		w.Close()
	}
	p.ends = nil
	for i, r := range p.readers {
		p.copies.Add(1)
		go func() {
			defer p.copies.Done()
			if _, err := p.writers[i].ReadFrom(r); err != nil {
				p.log.Debug("copying the command's output failed", "error", err.Error())
			}
		}()
	}
}

// finish waits for both pipes to end (at most the kill delay: a program
// the child started may hold them open), writes what is held, and closes.
func (p *maskPipes) finish() {
	p.once.Do(func() {
		done := make(chan struct{})
		go func() { p.copies.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(p.delay):
			p.log.Warn("the command exited but its output stayed open; stopped waiting")
		}
		for _, w := range p.writers {
			if err := w.Close(); err != nil {
				p.log.Debug("writing the command's output failed", "error", err.Error())
			}
		}
		p.closeAll()
	})
}

func (p *maskPipes) closeAll() {
	for _, f := range append(p.readers, p.ends...) {
		f.Close()
	}
}
