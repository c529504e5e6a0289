package tests

import (
	"bufio"
	"bytes"
	"fmt"
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

// modes are azexec's two process models: by default it replaces itself
// with COMMAND (execve); with --supervise it stays COMMAND's parent.
var modes = []struct {
	name  string
	flags []string
}{
	{"replace", nil},
	{"supervise", []string{"--supervise"}},
}

// wrap returns azexec's arguments for running command in a mode.
func wrap(flags []string, command ...string) []string {
	return append(append(append([]string(nil), flags...), "--"), command...)
}

// TestExitStatusIsTheChilds proves that azexec exits with COMMAND's own
// status, unchanged, in both process models, prints nothing of its own
// when all is well, and reports 128+N for a child killed by signal N.
func TestExitStatusIsTheChilds(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	for _, mode := range modes {
		for _, n := range []int{0, 1, 7, 42, 126, 127, 255} {
			t.Run(fmt.Sprintf("%s/exit_%d", mode.name, n), func(t *testing.T) {
				t.Parallel()
				r := runAzexecResult(t, env, "", wrap(mode.flags, "sh", "-c", fmt.Sprintf("echo child; exit %d", n))...)
				if r.code != n {
					t.Errorf("status %d, want the child's %d", r.code, n)
				}
				if r.stdout != "child\n" {
					t.Errorf("stdout %q, want the child's %q", r.stdout, "child\n")
				}
				if r.stderr != "" {
					t.Errorf("azexec wrote to stderr although the child ran: %q", r.stderr)
				}
			})
		}
		for _, sig := range []struct {
			name string
			want int
		}{{"TERM", 143}, {"KILL", 137}, {"HUP", 129}} {
			t.Run(fmt.Sprintf("%s/killed_by_%s", mode.name, sig.name), func(t *testing.T) {
				t.Parallel()
				r := runAzexecResult(t, env, "", wrap(mode.flags, "sh", "-c", "kill -"+sig.name+" $$")...)
				if r.code != sig.want {
					t.Errorf("status %d, want %d (128+SIG%s)", r.code, sig.want, sig.name)
				}
				// In replace mode azexec *is* the child: the signal kills
				// the very process the test started.
				if mode.name == "replace" && !r.signaled {
					t.Errorf("replace mode: azexec's process exited normally; want it killed by SIG%s, as the child it became", sig.name)
				}
				if strings.Contains(r.stderr, "azexec: error") {
					t.Errorf("azexec reported an error for a child's signal:\n%s", r.stderr)
				}
			})
		}
	}
}

// TestCommandErrors proves the shell's statuses for a COMMAND that cannot
// run (127 not found, 126 not executable), with azexec's own error line,
// in both modes.
func TestCommandErrors(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	notExec := f.path("not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho should not run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.binDir, "on-path-not-executable"), []byte("#!/bin/sh\necho should not run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		command []string
		want    int
	}{
		{"not found on PATH", []string{"no-such-command-e2e"}, 127},
		{"not found by path", []string{f.path("no-such-file")}, 127},
		{"not executable by path", []string{notExec}, 126},
		{"not executable on PATH", []string{"on-path-not-executable"}, 126},
		{"directory", []string{f.dir}, 126},
	}
	for _, mode := range modes {
		for _, c := range cases {
			t.Run(mode.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				stdout, stderr, code := runAzexec(t, env, "", wrap(mode.flags, c.command...)...)
				if code != c.want {
					t.Errorf("status %d, want %d", code, c.want)
				}
				line := requireLine(t, stderr, "azexec: error: ")
				if name := filepath.Base(c.command[0]); !strings.Contains(line, name) {
					t.Errorf("error line does not name the command %q: %q", name, line)
				}
				if stdout != "" {
					t.Errorf("stdout %q, want nothing", stdout)
				}
			})
		}
	}
}

// TestUsageErrors proves exit status 2 for a wrong command line, decided
// before any identity is looked for (nothing is configured here, which
// would be status 3), and that COMMAND never starts.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.env()
	m := newMarker(t)
	cases := []struct {
		name string
		args []string
		hint string // a substring of the hint line, if one is expected
	}{
		{"no arguments", nil, ""},
		{"nothing after --", []string{"--"}, ""},
		{"unknown flag", append([]string{"--no-such-flag"}, wrap(nil, m.command()...)...), ""},
		{"unknown flag of whoami", []string{"whoami", "--no-such-flag"}, ""},
		{"program without --", []string{"notacommand", "arg"}, "azexec -- notacommand"},
		{"unknown log level", append([]string{"--log-level", "loud"}, wrap(nil, m.command()...)...), ""},
		{"unknown cloud", append([]string{"--cloud", "mars"}, wrap(nil, m.command()...)...), ""},
		{"unknown identity", append([]string{"--identity", "kerberos"}, wrap(nil, m.command()...)...), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runAzexec(t, env, "", c.args...)
			if code != 2 {
				t.Errorf("status %d, want 2", code)
			}
			requireLine(t, stderr, "azexec: error: ")
			if c.hint != "" {
				if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, c.hint) {
					t.Errorf("hint %q does not mention %q", hint, c.hint)
				}
			}
			if m.exists() {
				t.Errorf("COMMAND ran despite the usage error")
			}
		})
	}
}

// TestEverythingAfterDashDashIsCommand proves that everything after the
// first "--" is COMMAND, untouched: `azexec -- whoami` runs a program named
// whoami, not the subcommand, and COMMAND's own flags and "--" reach it.
func TestEverythingAfterDashDashIsCommand(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	f.writeProgram(t, "whoami", `echo "the program named whoami: $*"`+"\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--", "whoami"}, "the program named whoami: \n"},
		{[]string{"--", "whoami", "--json", "--identity", "cli"}, "the program named whoami: --json --identity cli\n"},
		{[]string{"--", "sh", "-c", `echo "$*"`, "sh", "--help", "--", "-x"}, "--help -- -x\n"},
	} {
		stdout, stderr, code := runAzexec(t, env, "", c.args...)
		if code != 0 || stdout != c.want {
			t.Errorf("azexec %q: status %d, stdout %q; want 0 and %q\nstderr:\n%s", c.args, code, stdout, c.want, stderr)
		}
	}
}

// TestSignalForwarding proves that a signal sent to azexec's pid reaches
// COMMAND: in replace mode because azexec has become COMMAND (same pid),
// with --supervise because azexec forwards it. The child traps the signal,
// says so and exits 0, which must then be azexec's status. Without a trap,
// the child dies of the signal and azexec reports 128+N.
func TestSignalForwarding(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	signals := []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGINT}
	for _, mode := range modes {
		for _, sig := range signals {
			name := strings.TrimPrefix(signalName(sig), "SIG")
			t.Run(mode.name+"/trapped_"+name, func(t *testing.T) {
				t.Parallel()
				script := fmt.Sprintf(`trap 'echo got-%s; exit 0' %s; echo ready $$; while :; do sleep 0.05; done`, name, name)
				r := signalChild(t, env, mode.name == "supervise", wrap(mode.flags, "sh", "-c", script), sig)
				if r.code != 0 {
					t.Errorf("status %d, want 0 (the child trapped SIG%s and exited 0)\nstderr:\n%s", r.code, name, r.stderr)
				}
				if n := strings.Count(r.stdout, "got-"+name+"\n"); n != 1 {
					t.Errorf("the child's trap ran %d times, want once; stdout:\n%s", n, r.stdout)
				}
				if strings.Contains(r.stderr, "azexec: error") {
					t.Errorf("azexec reported an error:\n%s", r.stderr)
				}
			})
		}
		t.Run(mode.name+"/untrapped_TERM", func(t *testing.T) {
			t.Parallel()
			script := `echo ready $$; while :; do sleep 0.05; done`
			r := signalChild(t, env, mode.name == "supervise", wrap(mode.flags, "sh", "-c", script), syscall.SIGTERM)
			if r.code != 143 {
				t.Errorf("status %d, want 143 (the child died of SIGTERM)\nstderr:\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "azexec: error") {
				t.Errorf("azexec reported an error:\n%s", r.stderr)
			}
		})
	}
	// AZEXEC_SUPERVISE=1 means --supervise: signalChild checks that the
	// child is a separate process, and USR1 must be forwarded to it.
	t.Run("AZEXEC_SUPERVISE=1", func(t *testing.T) {
		t.Parallel()
		script := `trap 'echo got-USR1; exit 0' USR1; echo ready $$; while :; do sleep 0.05; done`
		r := signalChild(t, setEnv(env, "AZEXEC_SUPERVISE=1"), true, wrap(nil, "sh", "-c", script), syscall.SIGUSR1)
		if r.code != 0 || !strings.Contains(r.stdout, "got-USR1\n") {
			t.Errorf("status %d, stdout %q; want 0 and got-USR1", r.code, r.stdout)
		}
	})
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return s.String()
}

// signalChild starts azexec with args, waits for the child's "ready PID"
// line, checks the process model (the child's pid is azexec's own in
// replace mode, another one under --supervise), sends sig to azexec's pid
// alone and returns how it ended. azexec gets a process group of its own,
// so that it is not in a terminal's foreground even when the tests run in
// one (azexec does not forward a terminal's SIGINT it believes the child
// received directly).
func signalChild(t *testing.T, env []string, supervise bool, args []string, sig syscall.Signal) result {
	t.Helper()
	cmd := exec.Command(azexecBin, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// killGroup stops azexec and its child on a failure path. Only while
	// azexec has not been reaped: after that its pid, and so the group id,
	// may already belong to another test's process.
	var reaped atomic.Bool
	killGroup := func() {
		if !reaped.Load() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	t.Cleanup(killGroup)

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		pr.Close()
	}()
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		reaped.Store(true)
		waited <- err
	}()

	var stdout strings.Builder
	deadline := time.After(runTimeout)
	ready := false
	for !ready {
		select {
		case l, ok := <-lines:
			if !ok {
				<-waited
				code, _ := shellStatus(cmd.ProcessState)
				t.Fatalf("azexec ended (status %d) before the child was ready; stdout:\n%s\nstderr:\n%s", code, stdout.String(), errOut.String())
			}
			stdout.WriteString(l + "\n")
			pid, ok := strings.CutPrefix(l, "ready ")
			if !ok {
				continue
			}
			ready = true
			childPID, _ := strconv.Atoi(pid)
			if supervise && childPID == cmd.Process.Pid {
				t.Errorf("--supervise: the child runs as azexec's own pid %d; want a child process", childPID)
			}
			if !supervise && childPID != cmd.Process.Pid {
				t.Errorf("replace mode: the child's pid is %d, azexec's %d; want azexec to have become the child", childPID, cmd.Process.Pid)
			}
		case <-deadline:
			killGroup()
			t.Fatalf("the child never said ready; stdout:\n%s\nstderr:\n%s", stdout.String(), errOut.String())
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v to azexec: %v", sig, err)
	}
	select {
	case <-waited:
	case <-deadline:
		killGroup()
		<-waited
		t.Fatalf("azexec did not exit after %v; stdout:\n%s\nstderr:\n%s", sig, stdout.String(), errOut.String())
	}
	for l := range lines {
		stdout.WriteString(l + "\n")
	}
	r := result{stdout: stdout.String(), stderr: errOut.String()}
	r.code, r.signaled = shellStatus(cmd.ProcessState)
	t.Logf("azexec %q after %v: status %d\nstdout:\n%s\nstderr:\n%s", args, sig, r.code, r.stdout, clip(r.stderr))
	return r
}

// TestStdinReachesChild proves COMMAND reads azexec's standard input, in
// both modes.
func TestStdinReachesChild(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runAzexec(t, env, "line one\nline two\n", wrap(mode.flags, "cat")...)
			if code != 0 || stdout != "line one\nline two\n" {
				t.Errorf("status %d, stdout %q; want 0 and the input back\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
}
