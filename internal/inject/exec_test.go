//go:build unix

package inject

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/tests/testenv"
)

// shEnv is a child environment that finds sh and the plain tools, and not
// what else shares their directory on the machine (az, azd, git...).
func shEnv(t *testing.T) []string {
	t.Helper()
	return []string{"PATH=" + testenv.Tools(t)}
}

// runSh runs `sh -c script` supervised and returns its status.
func runSh(t *testing.T, script string) (int, error) {
	t.Helper()
	return Run(context.Background(), Command{Argv: []string{"sh", "-c", script}, Env: shEnv(t)}, RunOptions{})
}

func TestRunExitCodes(t *testing.T) {
	for _, code := range []int{0, 7, 255} {
		status, err := runSh(t, "exit "+strconv.Itoa(code))
		if err != nil || status != code {
			t.Errorf("exit %d: status %d, err %v", code, status, err)
		}
	}
}

func TestRunKilledBySignal(t *testing.T) {
	status, err := runSh(t, "kill -TERM $$")
	if err != nil || status != 143 {
		t.Errorf("status %d, err %v; want 143", status, err)
	}
}

func TestRunStreams(t *testing.T) {
	var out, errOut bytes.Buffer
	c := Command{
		Argv:   []string{"sh", "-c", `cat; echo "$X" >&2; pwd >&2`},
		Env:    append(shEnv(t), "X=from-env"),
		Dir:    t.TempDir(),
		Stdin:  strings.NewReader("in\n"),
		Stdout: &out,
		Stderr: &errOut,
	}
	status, err := Run(context.Background(), c, RunOptions{})
	if err != nil || status != 0 {
		t.Fatalf("status %d, err %v", status, err)
	}
	dir, _ := filepath.EvalSymlinks(c.Dir)
	if out.String() != "in\n" || errOut.String() != "from-env\n"+dir+"\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
}

func TestRunEnvIsExact(t *testing.T) {
	t.Setenv("INJECT_TEST_LEAK", "leaked")
	var out bytes.Buffer
	c := Command{Argv: []string{"sh", "-c", `echo "[$INJECT_TEST_LEAK]"`}, Env: shEnv(t), Stdout: &out}
	if _, err := Run(context.Background(), c, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "[]\n" {
		t.Errorf("child saw %q: azexec's environment leaked", out.String())
	}
}

func TestRunNoCommand(t *testing.T) {
	status, err := Run(context.Background(), Command{}, RunOptions{})
	if status != 2 || fail.KindOf(err) != fail.Usage || err.Error() != "no command given" {
		t.Errorf("status %d, err %v", status, err)
	}
	if fail.HintOf(err) != "azexec [options] -- COMMAND [ARGS...]" {
		t.Errorf("hint %q", fail.HintOf(err))
	}
}

// writeExe writes a file with the given mode in a fresh directory.
func writeExe(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunNotRunnable(t *testing.T) {
	noX := writeExe(t, "nox", "#!/bin/sh\nexit 0\n", 0o644)
	garbage := writeExe(t, "garbage", "\x00\x01\x02 not a program", 0o755)
	badInterp := writeExe(t, "badinterp", "#!/nonexistent/interpreter\n", 0o755)
	tests := []struct {
		name   string
		argv0  string
		env    []string
		status int
		kind   fail.Kind
		msg    string
	}{
		{"not found on PATH", "azexec-no-such-command", shEnv(t), 127, fail.NotFound, `command "azexec-no-such-command" not found`},
		{"no PATH", "sh", []string{}, 127, fail.NotFound, `command "sh" not found`},
		{"missing path", "/nonexistent/cmd", nil, 127, fail.NotFound, `command "/nonexistent/cmd" not found`},
		{"no execute bit", noX, nil, 126, fail.NotExecutable, strconv.Quote(noX) + " is not executable"},
		{"no execute bit on PATH", "nox", []string{"PATH=" + filepath.Dir(noX)}, 126, fail.NotExecutable, `"nox" is not executable`},
		{"directory", t.TempDir(), nil, 126, fail.NotExecutable, "is a directory"},
		{"exec format error", garbage, nil, 126, fail.NotExecutable, "is not a program this system can run"},
		{"bad interpreter", badInterp, nil, 126, fail.NotExecutable, "interpreter was not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, err := Run(context.Background(), Command{Argv: []string{tt.argv0}, Env: tt.env}, RunOptions{})
			if status != tt.status || fail.KindOf(err) != tt.kind {
				t.Fatalf("status %d, kind %v, err %v; want %d, %v", status, fail.KindOf(err), err, tt.status, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if ExitStatus(err) != tt.status {
				t.Errorf("ExitStatus = %d", ExitStatus(err))
			}
		})
	}
}

func TestRunPATHFromCommandEnv(t *testing.T) {
	dir := filepath.Dir(writeExe(t, "azexec-test-cmd", "#!/bin/sh\nexit 3\n", 0o755))
	// azexec's own PATH does not have the command; the child's does.
	status, err := Run(context.Background(), Command{Argv: []string{"azexec-test-cmd"}, Env: []string{"PATH=/nonexistent:relative:" + dir}}, RunOptions{})
	if err != nil || status != 3 {
		t.Errorf("status %d, err %v; want 3", status, err)
	}
	// azexec's own PATH has sh; the child's does not.
	status, err = Run(context.Background(), Command{Argv: []string{"sh", "-c", "exit 0"}, Env: []string{"PATH=/nonexistent"}}, RunOptions{})
	if status != 127 || fail.KindOf(err) != fail.NotFound {
		t.Errorf("status %d, err %v; want 127", status, err)
	}
	if !strings.Contains(fail.HintOf(err), "check PATH") {
		t.Errorf("hint %q", fail.HintOf(err))
	}
}

func TestRunIgnoresRelativePATH(t *testing.T) {
	dir := filepath.Dir(writeExe(t, "azexec-test-cmd", "#!/bin/sh\nexit 0\n", 0o755))
	t.Chdir(dir)
	for _, path := range []string{".", "", "sub/.."} {
		status, err := Run(context.Background(), Command{Argv: []string{"azexec-test-cmd"}, Env: []string{"PATH=" + path}}, RunOptions{})
		if status != 127 {
			t.Errorf("PATH=%q: status %d, err %v; want 127", path, status, err)
		}
	}
	status, err := Run(context.Background(), Command{Argv: []string{"./azexec-test-cmd"}}, RunOptions{})
	if status != 0 || err != nil {
		t.Errorf("./: status %d, err %v", status, err)
	}
}

func TestRunRelativePathUsesDir(t *testing.T) {
	exe := writeExe(t, "azexec-test-cmd", "#!/bin/sh\nexit 4\n", 0o755)
	c := Command{Argv: []string{"./azexec-test-cmd"}, Dir: filepath.Dir(exe)}
	if status, err := Run(context.Background(), c, RunOptions{}); status != 4 || err != nil {
		t.Errorf("status %d, err %v; want 4", status, err)
	}
}

func TestRunContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	c := Command{Argv: []string{"sh", "-c", "exec sleep 30"}, Env: shEnv(t)}
	status, err := Run(ctx, c, RunOptions{})
	if status != 143 || !errors.Is(err, context.Canceled) {
		t.Errorf("status %d, err %v; want 143, canceled", status, err)
	}
}

func TestRunContextKillDelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	c := Command{Argv: []string{"sh", "-c", "trap '' TERM; exec sleep 30"}, Env: shEnv(t)}
	start := time.Now()
	status, err := Run(ctx, c, RunOptions{KillDelay: 300 * time.Millisecond})
	if status != 137 || !errors.Is(err, context.Canceled) {
		t.Errorf("status %d, err %v; want 137, canceled", status, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestRunLogsNoValues(t *testing.T) {
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Trace})
	c := Command{Argv: []string{"sh", "-c", "exit 5", "arg-secret"}, Env: append(shEnv(t), "TOKEN=value-secret")}
	status, err := Run(context.Background(), c, RunOptions{Logger: log})
	if status != 5 || err != nil {
		t.Fatalf("status %d, err %v", status, err)
	}
	if !strings.Contains(buf.String(), "status=5") {
		t.Errorf("log does not report the status:\n%s", buf.String())
	}
	for _, secret := range []string{"secret", "exit 5", "PATH", "/bin"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log shows %q:\n%s", secret, buf.String())
		}
	}
}

func TestExitStatus(t *testing.T) {
	exitErr := func(script string) error {
		return exec.Command("sh", "-c", script).Run()
	}
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{exitErr("exit 3"), 3},
		{exitErr("kill -KILL $$"), 137},
		{exitErr("kill -INT $$"), 130},
		{fail.New(fail.NotFound, "x"), 127},
		{fail.New(fail.NotExecutable, "x"), 126},
		{errors.New("other"), -1},
	}
	for _, tt := range tests {
		if got := ExitStatus(tt.err); got != tt.want {
			t.Errorf("ExitStatus(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestSupervisorForwardsTERM(t *testing.T) {
	p, marker, wait := startHelper(t, "supervise", childVar+"=trap")
	waitReady(t, marker)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status := wait(); status != 0 {
		t.Fatalf("status %d, want 0 (the child trapped TERM)", status)
	}
	if got := readMarker(t, marker); got != "terminated" {
		t.Errorf("child saw %q, want terminated", got)
	}
}

func TestSupervisorForwardsINTWithoutTerminal(t *testing.T) {
	// Without a controlling terminal, an INT can only have been sent to
	// azexec itself: it must reach the child, once.
	p, marker, wait := startHelper(t, "supervise", childVar+"=count-int")
	waitReady(t, marker)
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if status := wait(); status != 11 {
		t.Fatalf("status %d, want 11 (one INT)", status)
	}
}

func TestSupervisorKeepsIgnoredHUP(t *testing.T) {
	// Under nohup, HUP is ignored; the child must inherit that.
	_, _, wait := startHelper(t, "supervise-nohup", scriptVar+"=kill -HUP $$; exit 5")
	if status := wait(); status != 5 {
		t.Fatalf("status %d, want 5 (HUP ignored in the child)", status)
	}
	_, _, wait = startHelper(t, "supervise", scriptVar+"=kill -HUP $$; exit 5")
	if status := wait(); status != 129 {
		t.Fatalf("status %d, want 129 (HUP default in the child)", status)
	}
}

func TestReplace(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	p, marker, wait := startHelper(t, "replace", scriptVar+`=echo $$; pwd; exit 9`, outVar+"="+out)
	if status := wait(); status != 9 {
		t.Fatalf("status %d, want 9", status)
	}
	lines := strings.Split(strings.TrimSpace(readMarker(t, out)), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q", lines)
	}
	if atoi(t, lines[0]) != p.Pid {
		t.Errorf("child pid %s, azexec's %d: not replaced", lines[0], p.Pid)
	}
	dir, _ := filepath.EvalSymlinks(filepath.Dir(marker))
	if lines[1] != dir {
		t.Errorf("child dir %q, want %q", lines[1], dir)
	}
}

func TestReplaceNotFound(t *testing.T) {
	// Returns before execve, so it is safe in the test process.
	status, err := Run(context.Background(), Command{Argv: []string{"/nonexistent/cmd"}}, RunOptions{Replace: true})
	if status != 127 || fail.KindOf(err) != fail.NotFound {
		t.Errorf("status %d, err %v", status, err)
	}
	status, err = Run(context.Background(), Command{Argv: []string{"sh"}, Env: []string{"PATH=/nonexistent"}}, RunOptions{Replace: true})
	if status != 127 || fail.KindOf(err) != fail.NotFound {
		t.Errorf("status %d, err %v", status, err)
	}
}

func TestReplaceNeedsFiles(t *testing.T) {
	c := Command{Argv: []string{"/bin/sh"}, Stdout: &bytes.Buffer{}}
	status, err := Run(context.Background(), c, RunOptions{Replace: true})
	if status != 2 || fail.KindOf(err) != fail.Usage {
		t.Errorf("status %d, err %v", status, err)
	}
}
