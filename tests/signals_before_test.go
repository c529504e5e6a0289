package tests

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/azexec/azexec/tests/fakeazure"
)

// Signals that arrive before COMMAND starts (security issue, item 9): while
// azexec still resolves the identity or fetches secrets, INT, TERM, HUP and
// QUIT must end it with 128+N and one line saying what was interrupted; no
// goroutine dump (QUIT's Go default, which would print the state of a
// process holding secrets), COMMAND never started, nothing left behind.
// Before the fix TERM exited with no word and QUIT dumped every goroutine.
// Signals once COMMAND runs are TestSignalForwarding's (exec_test.go).

// stalledRequest is what a phase's run waits on: the fake holds requests of
// kind until the test is over, so azexec is caught in that phase.
const stalledRequest = 10 * time.Minute

func TestSignalsBeforeCommand(t *testing.T) {
	t.Parallel()
	phases := []struct {
		name  string
		while string
		kind  string // the request kind the fake holds
		env   func(t *testing.T, f *fake) []string
	}{
		{"resolve", "resolving the identity", fakeazure.KindToken, func(t *testing.T, f *fake) []string {
			return f.env(f.newSP().env()...)
		}},
		{"fetch", "fetching secrets", fakeazure.KindKV, func(t *testing.T, f *fake) []string {
			vault := f.vaultHost(t, "stalled")
			f.setSecret(t, "stalled", "db-password", "", "s3cret-"+randomHex(8))
			return kvEnv(f, f.homeSP(), "DB_PASSWORD=keyvault://"+vault+"/db-password", consent(vault))
		}},
	}
	signals := []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM}
	for _, ph := range phases {
		for _, mode := range modes {
			for _, sig := range signals {
				t.Run(ph.name+"/"+mode.name+"/"+unix.SignalName(sig), func(t *testing.T) {
					t.Parallel()
					f := startFake(t)
					f.AddFault(fakeazure.Fault{Kind: ph.kind, Latency: stalledRequest})
					tmp := t.TempDir()
					env := setEnv(ph.env(t, f), "TMPDIR="+tmp)
					m := newMarker(t)
					r := interruptWhileStalled(t, f, ph.kind, env, sig, wrap(mode.flags, m.command()...))

					want := 128 + int(sig)
					if r.code != want || r.signaled {
						t.Errorf("status %d (killed by a signal: %v), want azexec to exit %d itself", r.code, r.signaled, want)
					}
					line := "azexec: error: interrupted by " + unix.SignalName(sig) + " while " + ph.while
					if got := strings.TrimRight(r.stderr, "\n"); got != line {
						t.Errorf("stderr:\n%s\nwant exactly the one line:\n%s", r.stderr, line)
					}
					if strings.Contains(r.stderr, "goroutine") {
						t.Errorf("stderr holds a goroutine dump:\n%s", clip(r.stderr))
					}
					if m.exists() {
						t.Errorf("COMMAND ran although azexec was interrupted before starting it")
					}
					if left, _ := os.ReadDir(tmp); len(left) > 0 {
						t.Errorf("left behind in TMPDIR: %v", left)
					}
				})
			}
		}
	}
}

// TestSignalIgnoredBeforeCommandStaysIgnored: a signal azexec inherited as
// ignored (nohup's SIGHUP) must not start to stop it, since azexec would
// then also hand COMMAND a HUP it was meant to survive.
func TestSignalIgnoredBeforeCommandStaysIgnored(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.AddFault(fakeazure.Fault{Kind: fakeazure.KindToken, Latency: 2 * time.Second, Times: 1})
	// nohup-like: sh ignores HUP, then execs azexec, which inherits it.
	args := append([]string{"-c", `trap '' HUP; exec "$0" "$@"`, azexecBin}, wrap(nil, "sh", "-c", "echo ran")...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = f.env(f.newSP().env()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitInFlight(t, f, fakeazure.KindToken, errOut.String)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err != nil || !strings.Contains(out.String(), "ran") {
		t.Fatalf("azexec: %v, want it to ignore the HUP and run COMMAND\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
}

// interruptWhileStalled starts azexec with args in a process group of its
// own (so it is in no terminal's foreground), waits until the fake holds a
// request of kind, sends sig to azexec's pid alone and returns how it
// ended.
func interruptWhileStalled(t *testing.T, f *fake, kind string, env []string, sig syscall.Signal, args []string) result {
	t.Helper()
	cmd := exec.Command(azexecBin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reaped atomic.Bool
	t.Cleanup(func() {
		if !reaped.Load() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	waited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		reaped.Store(true)
		close(waited)
	}()
	waitInFlight(t, f, kind, errOut.String)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v: %v", sig, err)
	}
	select {
	case <-waited:
	case <-time.After(runTimeout):
		t.Fatalf("azexec did not exit after %v\nstderr:\n%s", sig, errOut.String())
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	r.code, r.signaled = shellStatus(cmd.ProcessState)
	t.Logf("azexec %q after %v: status %d\nstderr:\n%s", args, sig, r.code, clip(r.stderr))
	return r
}

// waitInFlight waits until the fake has received a request of kind (it
// counts requests as they arrive; the log only lists finished ones).
func waitInFlight(t *testing.T, f *fake, kind string, stderr func() string) {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for f.PeakConcurrency(kind) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("azexec sent no %s request\nstderr:\n%s", kind, stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer is a bytes.Buffer safe for the writer goroutine os/exec
// runs and a reader in the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
