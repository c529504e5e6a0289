package tests

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A supervising azexec is not readable by its child (security issue, item
// 3). With --inject endpoint the child runs as the same user as azexec,
// which holds the client secret in its environment and memory. The attack:
// the child reads /proc/$PPID/environ and /proc/$PPID/mem, or makes azexec
// dump core. azexec makes itself non-dumpable and its core limit 0, so each
// read must be refused and a crash must leave no core.
//
// The tests run as root, and root reads any process (CAP_SYS_PTRACE), so
// azexec and its child run as an unprivileged user (nobody, 65534) here.
// A control run proves the probe does read a dumpable parent of that user:
// without it, a probe that never reads anything would pass.

// unprivileged is the user the attack runs as when the tests run as root.
const unprivileged = 65534

// attackProbe is a shell script run by the unprivileged user: `probe PID
// LABEL` tries to read PID's environment and memory and prints one line,
// "LABEL environ=read|denied secret=N mem=read|denied|error". secret counts
// AZURE_CLIENT_SECRET entries in what it read (the name only, never the
// value, reaches the output).
const attackProbe = `p=$1
line=$2
if err=$(cat /proc/$p/environ 2>&1 >/dev/null); then
	line="$line environ=read secret=$(tr '\0' '\n' < /proc/$p/environ | grep -c '^AZURE_CLIENT_SECRET=')"
else
	case $err in *"Permission denied"*) line="$line environ=denied" ;; *) line="$line environ=error" ;; esac
fi
addr=$(head -n1 /proc/$p/maps 2>/dev/null | cut -d- -f1)
[ -n "$addr" ] || addr=400000
if err=$(dd if=/proc/$p/mem of=/dev/null bs=16 count=1 iflag=skip_bytes skip=$((0x$addr)) status=none 2>&1); then
	line="$line mem=read"
else
	case $err in *"Permission denied"*) line="$line mem=denied" ;; *) line="$line mem=error" ;; esac
fi
echo "$line"
`

// attackDir is a directory the unprivileged user can use: a copy of the
// binary and the fake's CA, the probe, a HOME and a working directory it
// owns.
type attackDir struct {
	dir, bin, ca, probe, home, work string
	cred                            *syscall.Credential
}

func newAttackDir(t *testing.T, f *fake) *attackDir {
	t.Helper()
	dir, err := os.MkdirTemp("", "azexec-attack-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	a := &attackDir{dir: dir, bin: filepath.Join(dir, "azexec"), ca: filepath.Join(dir, "ca.pem"),
		probe: filepath.Join(dir, "probe"), home: filepath.Join(dir, "home"), work: filepath.Join(dir, "work")}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o755))
	bin, err := os.ReadFile(azexecBin)
	must(err)
	must(os.WriteFile(a.bin, bin, 0o755))
	must(os.WriteFile(a.ca, f.CAPEM, 0o644))
	must(os.WriteFile(a.probe, []byte(attackProbe), 0o755))
	for _, d := range []string{a.home, a.work} {
		must(os.Mkdir(d, 0o755))
	}
	if os.Getuid() == 0 {
		a.cred = &syscall.Credential{Uid: unprivileged, Gid: unprivileged}
		for _, d := range []string{a.home, a.work} {
			must(os.Chown(d, unprivileged, unprivileged))
		}
	}
	return a
}

// env is the environment of the unprivileged run: the fake's, with the
// copies this user can read, and extra.
func (a *attackDir) env(f *fake, extra ...string) []string {
	return setEnv(f.env(extra...), "HOME="+a.home, "SSL_CERT_FILE="+a.ca, "PATH=/usr/bin:/bin")
}

// attackRun is azexec started as the unprivileged user with a soft core
// limit of unlimited (so that azexec itself must lower it), running until
// its child prints "ready".
type attackRun struct {
	cmd    *exec.Cmd
	lines  []string // the child's output up to "ready"
	rest   chan string
	waited chan struct{}
}

func startAttack(t *testing.T, a *attackDir, env []string, args ...string) *attackRun {
	t.Helper()
	sh := append([]string{"-c", `ulimit -S -c unlimited && exec "$0" "$@"`, a.bin}, args...)
	cmd := exec.Command("/bin/sh", sh...)
	cmd.Env = env
	cmd.Dir = a.work
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: a.cred}
	// The child keeps azexec's stderr open after azexec dies: stop
	// waiting for it once azexec is gone.
	cmd.WaitDelay = time.Second
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut lockedBuffer
	cmd.Stdout, cmd.Stderr = pw, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := &attackRun{cmd: cmd, rest: make(chan string, 64), waited: make(chan struct{})}
	var reaped atomic.Bool
	t.Cleanup(func() {
		if !reaped.Load() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		<-r.waited
	})
	go func() {
		defer close(r.rest)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.rest <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, pr)
		pr.Close()
	}()
	go func() {
		_ = cmd.Wait()
		reaped.Store(true)
		close(r.waited)
	}()
	deadline := time.After(runTimeout)
	for {
		select {
		case l, ok := <-r.rest:
			if !ok {
				<-r.waited
				t.Fatalf("azexec ended before its child was ready; output %q\nstderr:\n%s", r.lines, errOut.String())
			}
			if l == "ready" {
				return r
			}
			r.lines = append(r.lines, l)
		case <-deadline:
			t.Fatalf("the child never said ready; output %q\nstderr:\n%s", r.lines, errOut.String())
		}
	}
}

// line returns the child's output line starting with prefix.
func (r *attackRun) line(t *testing.T, prefix string) string {
	t.Helper()
	for _, l := range r.lines {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line %q in the child's output %q", prefix, r.lines)
	return ""
}

// waitChild is the child's script: it probes its parent (azexec) and
// itself, prints its core limit, says ready and waits to be killed.
func waitChild(a *attackDir) []string {
	return []string{"/bin/sh", "-c", `/bin/sh '` + a.probe + `' $PPID parent; /bin/sh '` + a.probe + `' $$ self; echo "core $(ulimit -c)"; echo ready; while :; do sleep 1; done`}
}

// TestSupervisorNotReadableByChild is the attack on a supervising azexec:
// its child reads /proc/$PPID/environ and /proc/$PPID/mem.
func TestSupervisorNotReadableByChild(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	a := newAttackDir(t, f)
	env := a.env(f, f.newSP().env()...)

	t.Run("control: the probe reads a dumpable parent", func(t *testing.T) {
		// The same probe, as the same user, against a plain shell that
		// holds the secret: if this read fails, the test below proves
		// nothing.
		cmd := exec.Command("/bin/sh", "-c", `/bin/sh '`+a.probe+`' $$ parent`)
		cmd.Env = env
		cmd.Dir = a.work
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.cred}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		if got, want := strings.TrimSpace(string(out)), "parent environ=read secret=1 mem=read"; got != want {
			t.Fatalf("the probe against a dumpable parent: %q, want %q", got, want)
		}
	})

	t.Run("endpoint", func(t *testing.T) {
		r := startAttack(t, a, env, append([]string{"--inject", "endpoint", "--"}, waitChild(a)...)...)
		pid := r.cmd.Process.Pid
		// The secret is there to steal: root sees it in azexec's environ.
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ"); err != nil || !strings.Contains(string(b), "\x00AZURE_CLIENT_SECRET=") && !strings.HasPrefix(string(b), "AZURE_CLIENT_SECRET=") {
			t.Fatalf("azexec's environment does not hold AZURE_CLIENT_SECRET (err %v): the attack would prove nothing", err)
		}
		if got, want := r.line(t, "parent "), "parent environ=denied mem=denied"; got != want {
			t.Errorf("the child reading azexec (its parent): %q, want %q", got, want)
		}
		// execve made the child dumpable again: it is no harder to debug
		// than without azexec.
		if got := r.line(t, "self "); !strings.HasPrefix(got, "self environ=read") || !strings.HasSuffix(got, "mem=read") {
			t.Errorf("the child reading itself: %q, want both read (execve resets dumpable)", got)
		}
		// A supervised child inherits azexec's soft core limit 0 (see
		// package harden for why).
		if got := r.line(t, "core "); got != "core 0" {
			t.Errorf("supervised child's core limit: %q, want core 0", got)
		}
		limits, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
		if err != nil {
			t.Fatal(err)
		}
		if got := coreLimit(string(limits)); got != "0" {
			t.Errorf("azexec's soft core limit while it supervises: %q, want 0 (started with unlimited)", got)
		}
	})

	t.Run("replace mode restores the core limit", func(t *testing.T) {
		// In replace mode azexec becomes COMMAND: COMMAND gets the limit
		// azexec was started with.
		r := startAttack(t, a, env, "--", "/bin/sh", "-c", `echo "core $(ulimit -c)"; echo ready; while :; do sleep 1; done`)
		if got := r.line(t, "core "); got != "core unlimited" {
			t.Errorf("COMMAND's core limit in replace mode: %q, want core unlimited, as azexec was started", got)
		}
	})
}

// TestSupervisorCrashLeavesNoCore makes a supervising azexec crash with
// GOTRACEBACK=crash (SIGABRT: the Go runtime dumps its goroutines, then
// dies of the signal with the default action, which writes a core file
// when the process is dumpable and its limit allows). The kernel's
// core_pattern may pipe cores elsewhere, so the wait status's core flag is
// what tells: the kernel sets it only when it dumped.
func TestSupervisorCrashLeavesNoCore(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	a := newAttackDir(t, f)
	env := a.env(f, append(f.newSP().env(), "GOTRACEBACK=crash")...)
	r := startAttack(t, a, env, "--inject", "endpoint", "--", "/bin/sh", "-c", "echo ready; while :; do sleep 1; done")
	pid := r.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.waited:
	case <-time.After(runTimeout):
		t.Fatal("azexec did not die of SIGABRT")
	}
	ws, _ := r.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("azexec ended with %v, want it killed by SIGABRT (the crash under test)", r.cmd.ProcessState)
	}
	if ws.CoreDump() {
		t.Errorf("azexec dumped core on its crash")
	}
	entries, _ := os.ReadDir(a.work)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "core") {
			t.Errorf("core file %s left in azexec's working directory", e.Name())
		}
	}
}

// coreLimit returns the soft "Max core file size" of a /proc/PID/limits.
func coreLimit(limits string) string {
	for _, l := range strings.Split(limits, "\n") {
		if rest, ok := strings.CutPrefix(l, "Max core file size"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}
