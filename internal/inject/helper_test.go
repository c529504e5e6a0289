package inject

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/testenv"
)

// The test binary doubles as the child (and as a supervising azexec) when
// helperVar is set, so the tests control both sides without extra tools.
const (
	helperVar = "INJECT_TEST_HELPER" // the helper mode
	childVar  = "INJECT_TEST_CHILD"  // the mode of the child a "supervise" helper runs
	markerVar = "INJECT_TEST_MARKER" // a file the helper reports through
	scriptVar = "INJECT_TEST_SCRIPT" // the sh script a "replace" helper runs
	outVar    = "INJECT_TEST_OUT"    // the file a "replace" helper gives as stdout
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperVar); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helper runs one helper mode and returns the exit status.
func helper(mode string) int {
	marker := os.Getenv(markerVar)
	switch mode {
	case "trap":
		return trapTERM(marker)
	case "count-int":
		return countINT(marker)
	case "supervise", "supervise-nohup":
		if mode == "supervise-nohup" {
			signal.Ignore(syscall.SIGHUP)
		}
		return superviseChild()
	case "replace":
		return replaceWithScript()
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 100
}

// trapTERM waits for SIGTERM, records it in marker and exits 0.
func trapTERM(marker string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	ready(marker)
	select {
	case s := <-sigs:
		os.WriteFile(marker, []byte(s.String()), 0o600)
		return 0
	case <-time.After(20 * time.Second):
		return 99
	}
}

// countINT waits for SIGINT, counts how many arrive within a second of the
// first, and exits with 10 plus that count.
func countINT(marker string) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT)
	ready(marker)
	select {
	case <-sigs:
	case <-time.After(20 * time.Second):
		return 99
	}
	n := 1
	deadline := time.After(time.Second)
	for {
		select {
		case <-sigs:
			n++
		case <-deadline:
			return 10 + n
		}
	}
}

// ready tells the test that signal handling is in place.
func ready(marker string) {
	os.WriteFile(marker+".ready", nil, 0o600)
}

// superviseChild is azexec in supervise mode, running this binary as the
// child in mode childVar.
func superviseChild() int {
	self, _ := os.Executable()
	env := []string{helperVar + "=" + os.Getenv(childVar), markerVar + "=" + os.Getenv(markerVar)}
	c := Command{Argv: []string{self}, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if script := os.Getenv(scriptVar); script != "" {
		c.Argv, c.Env = []string{"sh", "-c", script}, []string{"PATH=" + os.Getenv("PATH")}
	}
	status, err := Run(context.Background(), c, RunOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return status
}

// replaceWithScript is azexec in replace mode running `sh -c SCRIPT` in the
// marker's directory, with stdout on the file outVar names.
func replaceWithScript() int {
	out, err := os.Create(os.Getenv(outVar))
	if err != nil {
		return 101
	}
	c := Command{
		Argv:   []string{"sh", "-c", os.Getenv(scriptVar)},
		Env:    []string{"PATH=" + os.Getenv("PATH")},
		Dir:    filepath.Dir(os.Getenv(markerVar)),
		Stdout: out,
		Stderr: os.Stderr,
	}
	status, err := Run(context.Background(), c, RunOptions{Replace: true})
	fmt.Fprintln(os.Stderr, "replace returned:", err)
	return status
}

// startHelper starts this binary in a helper mode with extra environment.
func startHelper(t *testing.T, mode string, env ...string) (*os.Process, string, func() int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "marker")
	attr := &os.ProcAttr{
		Env:   append([]string{helperVar + "=" + mode, markerVar + "=" + marker, "PATH=" + testenv.Tools(t)}, env...),
		Files: []*os.File{nil, os.Stderr, os.Stderr},
	}
	p, err := os.StartProcess(self, []string{self}, attr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	wait := func() int {
		t.Helper()
		ps, err := p.Wait()
		if err != nil {
			t.Fatal(err)
		}
		return stateStatus(ps)
	}
	return p, marker, wait
}

// waitReady waits until the helper at marker has its signal handling in
// place.
func waitReady(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(marker + ".ready"); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("helper never became ready")
}

// readMarker returns the helper's report.
func readMarker(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// atoi parses a number a script wrote.
func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
