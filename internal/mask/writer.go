package mask

import (
	"io"
	"sync"
	"time"
)

// readSize is the buffer ReadFrom reads a child's output into: a whole
// pipe of 1 MiB (see inject.growPipe).
const readSize = 1 << 20

// Writer masks what is written to it and passes the rest to the
// underlying writer, holding back only the bytes that could still begin a
// masked form (see the package doc). Call Close at the end of the stream
// to release what is held. Safe for use by one writer goroutine plus its
// own idle timer.
type Writer struct {
	m    *Masker
	w    io.Writer
	idle time.Duration

	mu    sync.Mutex
	a     *automaton
	state int32  // a row offset in a.delta
	off   int64  // stream offset of held[0]
	held  []byte // not yet written: could still begin a form
	buf   []byte // the held bytes and the next write, together
	masks []span // masked stream ranges not yet written, in order
	// markedTo is the stream offset just past the last masked byte
	// written: a masked range continuing from there needs no new marker.
	markedTo int64
	out      []byte
	timer    *time.Timer
	err      error
}

// span is a masked range [start, end) of stream offsets.
type span struct{ start, end int64 }

// NewWriter returns a Writer that masks m's values (as they are at each
// Write) in what it passes to w. idle > 0 releases held bytes after that
// long without a Write: for an interactive terminal, where a prompt must
// show; 0 holds them until the next Write or Close.
func (m *Masker) NewWriter(w io.Writer, idle time.Duration) *Writer {
	return &Writer{m: m, w: w, idle: idle, a: m.a.Load(), markedTo: -1}
}

// Write masks p; it returns len(p) unless the underlying writer failed.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if a := w.m.a.Load(); a != w.a {
		w.rescan(a)
	}
	base := w.off + int64(len(w.held))
	w.scan(p, base)
	buf := p
	if len(w.held) > 0 {
		w.buf = append(append(w.buf[:0], w.held...), p...) // reused: no allocation once grown
		buf = w.buf
	}
	end := base + int64(len(p))
	upto := end - int64(w.a.depth[w.state/w.a.stride])
	if err := w.emit(buf, upto); err != nil {
		return 0, err
	}
	w.armIdle()
	return len(p), nil
}

// scan runs the automaton over p, which starts at stream offset base,
// recording every match.
func (w *Writer) scan(p []byte, base int64) {
	a := w.a
	delta, class, s := a.delta, &a.class, w.state
	for i, b := range p {
		next := delta[s+int32(class[b])]
		if next < 0 {
			next = ^next
			n := int64(a.match[next/a.stride])
			end := base + int64(i) + 1
			w.mark(end-n, end)
		}
		s = next
	}
	w.state = s
}

// mark records the masked range [start, end), merged with the ranges it
// overlaps or touches. Matches arrive in order of their end.
func (w *Writer) mark(start, end int64) {
	start = max(start, w.off) // what was already written stays written
	for len(w.masks) > 0 && w.masks[len(w.masks)-1].end >= start {
		last := w.masks[len(w.masks)-1]
		start = min(start, last.start)
		end = max(end, last.end)
		w.masks = w.masks[:len(w.masks)-1]
	}
	w.masks = append(w.masks, span{start, end})
}

// emit writes buf (stream offsets w.off onward) up to offset upto, masked,
// and keeps the rest held.
func (w *Writer) emit(buf []byte, upto int64) error {
	n := int(upto - w.off)
	var err error
	switch {
	case n <= 0:
	case len(w.masks) == 0 || w.masks[0].start >= upto:
		_, err = w.w.Write(buf[:n])
	default:
		w.out = w.masked(w.out[:0], buf[:n])
		_, err = w.w.Write(w.out)
	}
	if n > 0 {
		w.off = upto
	}
	// The held tail moves to the front of w.held's own array, which buf
	// never is.
	w.held = append(w.held[:0], buf[max(n, 0):]...)
	if err != nil {
		w.err = err
	}
	return err
}

// masked appends buf (offsets w.off onward), each masked range replaced by
// Marker once, and drops the ranges written completely.
func (w *Writer) masked(out, buf []byte) []byte {
	pos := w.off
	end := w.off + int64(len(buf))
	for len(w.masks) > 0 && w.masks[0].start < end {
		m := w.masks[0]
		out = append(out, buf[pos-w.off:m.start-w.off]...)
		if m.start != w.markedTo {
			out = append(out, Marker...)
		}
		if m.end > end { // the range goes on into held bytes
			w.masks[0].start = end
			w.markedTo = end
			return out
		}
		w.markedTo = m.end
		pos = m.end
		w.masks = w.masks[1:]
	}
	return append(out, buf[pos-w.off:]...)
}

// rescan moves to automaton a (values were added): the held bytes are run
// through it from the start, so a new value among them is masked too.
func (w *Writer) rescan(a *automaton) {
	w.a, w.state = a, 0
	w.masks = w.masks[:0] // found again: a keeps every earlier value
	w.scan(w.held, w.off)
}

// Flush writes every held byte, masked as far as the values seen so far
// tell. The automaton keeps its place: should the rest of a value follow,
// the rest is masked.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	return w.emit(w.held, w.off+int64(len(w.held)))
}

// Close flushes and stops the idle timer; the underlying writer stays
// open.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	return w.flush()
}

// armIdle (re)starts the idle release after a Write that left bytes held.
func (w *Writer) armIdle() {
	if w.idle <= 0 || len(w.held) == 0 {
		return
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(w.idle, func() { _ = w.Flush() })
		return
	}
	w.timer.Reset(w.idle)
}

// ReadFrom copies r through the Writer until r ends, in large reads; it
// does not Close. io.Copy and os/exec use it.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, readSize)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			total += int64(n)
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
