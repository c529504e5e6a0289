package tests

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/testenv"
)

// pidNamespace returns the argv prefix that runs a program as PID 1 of a
// new PID namespace with its own /proc, as a container's entrypoint is, or
// skips t where the machine cannot make one (not root, no user namespaces).
func pidNamespace(t *testing.T) []string {
	t.Helper()
	unshare, err := testenv.Lookup("unshare")
	if err != nil {
		t.Skipf("PID 1 test skipped: no unshare on this machine (%v)", err)
	}
	prefix := []string{unshare, "-p", "-f", "--mount-proc"}
	if out, err := exec.Command(unshare, append(prefix[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("PID 1 test skipped: cannot make a PID namespace here: %v %s", err, bytes.TrimSpace(out))
	}
	return prefix
}

// TestPID1ReapsOrphans runs a supervising azexec (--supervise, --inject
// endpoint, serve with COMMAND) as PID 1 of a PID namespace, as a
// container's entrypoint. The child double-forks a burst
// of processes that outlive their parents, so the kernel makes them
// azexec's; once they exit, none may stay a zombie, and azexec must still
// exit with the child's own status, which a reaper that waited for any
// child (wait4(-1)) could have taken from it.
func TestPID1ReapsOrphans(t *testing.T) {
	t.Parallel()
	prefix := pidNamespace(t)
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	dir := t.TempDir()
	// Each ( cmd & ) is a double fork: the subshell starts cmd and exits at
	// once, so cmd is orphaned and reparented to PID 1. Some exit at once,
	// some a little later, while the child is still running.
	script := `
for i in 1 2 3 4 5 6 7 8 9 10; do (sh -c 'exit 3' &); (sleep 0.2 &); done
(sleep 0.6 & echo $! >"$D/orphan")
o=$(cat "$D/orphan")
echo "orphan-ppid=$(cut -d' ' -f4 /proc/$o/stat)"
echo "azexec-pid=$PPID"
sleep 1.5
echo "zombies=$(cat /proc/[0-9]*/stat 2>/dev/null | grep -c ') Z ')"
exit 7`
	for _, flags := range [][]string{{"--supervise"}, {"--inject", "endpoint"}, {"serve"}} {
		t.Run(strings.Join(flags, "_"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			defer cancel()
			args := append(append(prefix[1:], azexecBin), wrap(flags, "sh", "-c", script)...)
			cmd := exec.CommandContext(ctx, prefix[0], args...)
			cmd.Env = setEnv(env, "D="+dir)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			_ = cmd.Run()
			code, _ := shellStatus(cmd.ProcessState)
			t.Logf("status %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), clip(errOut.String()))
			for _, want := range []string{"azexec-pid=1\n", "orphan-ppid=1\n", "zombies=0\n"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the child's report lacks %q: %s", want, out.String())
				}
			}
			if code != 7 {
				t.Errorf("status %d, want the child's 7", code)
			}
			if errOut.Len() > 0 {
				t.Errorf("azexec wrote to stderr: %s", clip(errOut.String()))
			}
		})
	}
}

// TestPID1ReplaceModeIsTheCommand: without --supervise azexec execs the
// command, which then is PID 1 itself (and reaps, if it does, as it would
// without azexec): the documented choice.
func TestPID1ReplaceModeIsTheCommand(t *testing.T) {
	t.Parallel()
	prefix := pidNamespace(t)
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	args := append(append(prefix[1:], azexecBin), wrap(nil, "sh", "-c", `echo "pid=$$"; exit 5`)...)
	cmd := exec.Command(prefix[0], args...)
	cmd.Env = env
	out, _ := cmd.Output()
	code, _ := shellStatus(cmd.ProcessState)
	if string(out) != "pid=1\n" || code != 5 {
		t.Errorf("replace mode: %q, status %d; want pid=1 and the command's 5", out, code)
	}
}
