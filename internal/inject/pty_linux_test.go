package inject

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("cannot unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
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

// TestCtrlCOnce types Ctrl-C on the terminal of a supervising azexec: the
// terminal signals the whole foreground group, so the child must see the
// interrupt exactly once (not again, forwarded by azexec).
func TestCtrlCOnce(t *testing.T) {
	master, slave := openPTY(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	marker := dir + "/marker"
	attr := &os.ProcAttr{
		Env:   []string{helperVar + "=supervise", childVar + "=count-int", markerVar + "=" + marker},
		Files: []*os.File{slave, os.Stderr, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0},
	}
	p, err := os.StartProcess(self, []string{self}, attr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	waitReady(t, marker)
	if _, err := master.Write([]byte{0x03}); err != nil { // VINTR, ^C
		t.Fatal(err)
	}
	ps, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if status := stateStatus(ps); status != 11 {
		t.Fatalf("status %d, want 11: the child saw %d interrupts, want 1", status, status-10)
	}
}
