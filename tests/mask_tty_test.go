package tests

// This file tests --mask on a terminal, in tmux: the child gets a
// pseudo-terminal, its colours and an interactive program (less) work, the
// value shows as the marker, and azexec's terminal is as it was after
// every way of ending (normal exit, a signal to azexec, a crashing child).

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/testenv"
)

// tmuxSession is a detached tmux server of the test's own, running one
// script in one window.
type tmuxSession struct {
	t    *testing.T
	tmux string
	sock string
	env  []string
}

func startTmux(t *testing.T, env []string, script string) *tmuxSession {
	t.Helper()
	tmux, err := testenv.Lookup("tmux")
	if err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if _, err := testenv.Lookup("less"); err != nil {
		t.Skip("less is not installed (.ci/run installs it)")
	}
	s := &tmuxSession{t: t, tmux: tmux, sock: filepath.Join(t.TempDir(), "tmux.sock"), env: env}
	s.run("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "sh "+script)
	t.Cleanup(func() { _ = exec.Command(tmux, "-S", s.sock, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.tmux, append([]string{"-S", s.sock}, args...)...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen is the window's content, with colours as escape sequences.
func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p", "-e", "-t", "t") }

// waitScreen waits until the screen holds want, and returns it.
func (s *tmuxSession) waitScreen(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(runTimeout)
	for {
		scr := s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", want, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && strings.HasSuffix(string(b), "\n") {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never written", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMaskTerminal: under `azexec --mask`, a child prints the secret in
// red, reads a line, then runs less over a file holding the secret. The
// marker shows in red, less answers keys, the secret never shows, and
// `stty -g` after azexec equals before; the same after TERM to azexec
// (which reaches the child once) and after a child that crashes.
func TestMaskTerminal(t *testing.T) {
	t.Parallel()
	sc := newMaskScenario(t, "kv-"+randomHex(16))
	dir := t.TempDir()
	var file strings.Builder
	file.WriteString("the secret is " + sc.secret + "\n")
	for i := 2; i <= 200; i++ {
		file.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	secretFile := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secretFile, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	child1 := `printf '\033[31m%s\033[0m\n' "$SECRET"; printf 'type a line: '; read x; echo "read $x"; exec less ` + secretFile
	child2 := `trap 'echo got-TERM >> ` + p("trapped") + `; exit 0' TERM; echo $PPID > ` + p("azpid") + `; while :; do sleep 0.05; done`
	child3 := `kill -SEGV $$`
	script := p("script.sh")
	content := strings.Join([]string{
		"stty -g > " + p("before"),
		shellQuote(azexecBin) + " --mask -- sh -c " + shellQuote(child1),
		"echo $? > " + p("status1"),
		"stty -g > " + p("after1"),
		shellQuote(azexecBin) + " --mask -- sh -c " + shellQuote(child2),
		"echo $? > " + p("status2"),
		"stty -g > " + p("after2"),
		shellQuote(azexecBin) + " --mask -- sh -c " + shellQuote(child3),
		"echo $? > " + p("status3"),
		"stty -g > " + p("after3"),
		"echo all done",
		"sleep 600",
	}, "\n") + "\n"
	if err := os.WriteFile(script, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env := setEnv(sc.env, "LESSHISTFILE=-", "SHELL=/bin/sh", "TERM=screen")
	s := startTmux(t, env, script)

	scr := s.waitScreen("type a line:")
	if !strings.Contains(scr, "\x1b[31m"+maskMarker) {
		t.Errorf("the marker is not shown in red:\n%q", scr)
	}
	s.run("send-keys", "-t", "t", "hello", "Enter")
	scr = s.waitScreen("line 29")
	if !strings.Contains(scr, "the secret is "+maskMarker) {
		t.Errorf("less does not show the marker:\n%s", scr)
	}
	s.run("send-keys", "-t", "t", "G")
	s.waitScreen("line 200")
	s.run("send-keys", "-t", "t", "g")
	s.waitScreen("the secret is " + maskMarker)
	s.run("send-keys", "-t", "t", "q")
	if st := waitFile(t, p("status1")); st != "0\n" {
		t.Errorf("less run: status %q", st)
	}

	pid, err := strconv.Atoi(strings.TrimSpace(waitFile(t, p("azpid"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("TERM to azexec: %v", err)
	}
	if st := waitFile(t, p("status2")); st != "0\n" {
		t.Errorf("TERM: status %q, want 0 (the child trapped it)", st)
	}
	if got := waitFile(t, p("trapped")); got != "got-TERM\n" {
		t.Errorf("the child saw TERM %q, want once", got)
	}
	if st := waitFile(t, p("status3")); st != "139\n" {
		t.Errorf("crashing child: status %q, want 139", st)
	}
	scr = s.waitScreen("all done")
	if strings.Contains(scr, sc.secret) {
		t.Errorf("the secret shows:\n%s", scr)
	}
	before := waitFile(t, p("before"))
	for _, f := range []string{"after1", "after2", "after3"} {
		if got := waitFile(t, p(f)); got != before {
			t.Errorf("terminal modes %s: %q, before: %q", f, got, before)
		}
	}
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
