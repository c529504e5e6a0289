package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/azexec/azexec/internal/fail"
)

// Signals before COMMAND starts.
//
// While azexec resolves the identity and fetches secrets, INT, TERM, HUP and
// QUIT end it cleanly: the work in flight is cancelled, everything prepared
// is released by the usual deferred cleanup (the identity endpoint, an auth
// file, the keyring), and azexec prints one line and exits 128+N, as a shell
// reports a process killed by signal N. Go's default would have been worse
// on each count: TERM killed azexec with no word about what it was doing,
// QUIT printed a goroutine dump of a process holding secrets, and neither
// ran any cleanup.
//
// Once COMMAND is about to start, catching stops (handOff): from then on
// the child owns these signals. Under supervision inject's forwarder, which
// starts listening before handOff, passes them on (and Ctrl-C is not
// delivered twice, since nothing here cancels the run any more); with
// execve the kernel resets every caught signal to its default in COMMAND.
// The gap that remains: in replace mode, a signal arriving in the few
// system calls between handOff and execve gets Go's default (TERM, INT and
// HUP kill azexec; QUIT prints the dump), which still starts no COMMAND.

// interruptSignals are the signals that stop azexec before COMMAND starts:
// the ones a terminal, a service manager or a CI runner sends to stop a
// program. The other forwarded ones (USR1, USR2, WINCH) do not stop a
// program by convention and are left alone.
var interruptSignals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM}

// interrupts catches interruptSignals until handOff and says what azexec
// was doing when one arrived. A nil *interrupts catches nothing; all its
// methods are then no-ops.
type interrupts struct {
	ch     chan os.Signal
	cancel context.CancelCauseFunc
	quit   chan struct{}
	done   chan struct{}
	caught chan struct{} // closed when a signal is caught

	mu      sync.Mutex
	sig     os.Signal
	phase   string // what azexec is doing, for the message
	at      string // the phase when sig arrived
	stopped bool
}

// watchInterrupts starts catching interruptSignals and returns a context
// that is cancelled when one arrives. A signal azexec inherited as ignored
// (nohup's HUP) is left ignored, here and so for COMMAND.
func watchInterrupts(parent context.Context) (context.Context, *interrupts) {
	ctx, cancel := context.WithCancelCause(parent)
	w := &interrupts{
		ch:     make(chan os.Signal, 1),
		cancel: cancel,
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		caught: make(chan struct{}),
		phase:  "starting",
	}
	for _, s := range interruptSignals {
		if !signal.Ignored(s) {
			signal.Notify(w.ch, s)
		}
	}
	go func() {
		defer close(w.done)
		select {
		case s := <-w.ch:
			w.record(s)
		case <-w.quit:
		}
	}()
	return ctx, w
}

// record keeps the first signal caught and cancels the run.
func (w *interrupts) record(s os.Signal) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sig != nil {
		return
	}
	w.sig, w.at = s, w.phase
	close(w.caught)
	w.cancel(errors.New("interrupted by " + signalName(s)))
}

// setPhase names what azexec does from now on ("resolving the identity"),
// for the message if a signal arrives during it.
func (w *interrupts) setPhase(phase string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.phase = phase
	w.mu.Unlock()
}

// caughtCh is closed once a signal has been caught; nil (never ready) for a
// nil *interrupts, so that a select on it simply waits for the other cases.
func (w *interrupts) caughtCh() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.caught
}

// handOff stops catching, for COMMAND is about to start, and returns the
// interruption error if a signal arrived before. Safe to call more than
// once, and on nil.
func (w *interrupts) handOff() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	stopped := w.stopped
	w.stopped = true
	w.mu.Unlock()
	if !stopped {
		signal.Stop(w.ch)
		close(w.quit)
		<-w.done
		select {
		case s := <-w.ch: // delivered, but the watcher had already quit
			w.record(s)
		default:
		}
	}
	return w.err()
}

// err is the error for the signal caught, or nil.
func (w *interrupts) err() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sig == nil {
		return nil
	}
	sig, _ := w.sig.(syscall.Signal)
	return fail.New(fail.Interrupted, "interrupted by %s while %s", signalName(w.sig), w.at).
		Wrap(interruption(sig))
}

// interruption is the cause of a fail.Interrupted error: the signal, whose
// number completes the exit status.
type interruption syscall.Signal

func (i interruption) Error() string { return signalName(syscall.Signal(i)) }

// signalNumber is N for an error caused by signal N, else 0.
func signalNumber(err error) int {
	var i interruption
	if fail.KindOf(err) == fail.Interrupted && errors.As(err, &i) {
		return int(i)
	}
	return 0
}

// signalName is the name a user sends the signal by.
func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
