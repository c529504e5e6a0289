//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInterruptBeforeHandOff sends this process a real SIGTERM while a
// watcher catches it: the run's context is cancelled, handOff reports the
// phase, and report prints one line and returns 143.
func TestInterruptBeforeHandOff(t *testing.T) {
	ctx, w := watchInterrupts(context.Background())
	defer w.handOff()
	w.setPhase("fetching secrets")
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	<-w.caughtCh()
	err := w.handOff()
	if err == nil {
		t.Fatal("handOff: no error after SIGTERM")
	}
	var out bytes.Buffer
	code := report(&out, err)
	if code != 143 {
		t.Errorf("status %d, want 143", code)
	}
	if got, want := out.String(), "azexec: error: interrupted by SIGTERM while fetching secrets\n"; got != want {
		t.Errorf("report printed %q, want %q", got, want)
	}
	if again := w.handOff(); again == nil || again.Error() != err.Error() {
		t.Errorf("second handOff: %v", again)
	}
}

// TestHandOffWithoutSignal: no signal, no error, and catching has stopped
// (a nil watcher too).
func TestHandOffWithoutSignal(t *testing.T) {
	ctx, w := watchInterrupts(context.Background())
	if err := w.handOff(); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Error("context cancelled without a signal")
	}
	var none *interrupts
	none.setPhase("x")
	if none.handOff() != nil || none.caughtCh() != nil {
		t.Error("nil watcher did something")
	}
}

// TestPromptGivesWayToSignal: Ctrl-C at the passphrase prompt (a signal
// caught while reading the terminal) returns the interruption at once and
// puts the terminal's echo back, instead of waiting for Enter.
func TestPromptGivesWayToSignal(t *testing.T) {
	_, slave := openTestPTY(t)
	fd := int(slave.Fd())
	_, w := watchInterrupts(context.Background())
	defer w.handOff()
	w.setPhase("resolving the identity")
	done := make(chan error, 1)
	go func() {
		_, err := readHiddenFrom(w, fd, &bytes.Buffer{}, "passphrase")
		done <- err
	}()
	// Wait until the prompt has turned echo off, then interrupt.
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the prompt never turned the terminal's echo off")
		}
		time.Sleep(time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "interrupted by SIGINT while resolving the identity") {
		t.Fatalf("readHiddenFrom: %v, want the interruption", err)
	}
	st, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lflag&unix.ECHO == 0 {
		t.Error("the terminal's echo stayed off")
	}
}

// openTestPTY opens a pseudo-terminal pair, with echo on.
func openTestPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("cannot unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("no pty number: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}
