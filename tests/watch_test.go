package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/azexec/azexec/internal/redact"
	"github.com/azexec/azexec/tests/fakeazure"
)

// --watch end to end: a secret rotated at the fake while azexec runs gets
// COMMAND restarted with the new value; a pinned version is never polled;
// a failed re-resolution leaves COMMAND running; --watch-reload signals
// instead of restarting; and no value reaches a log line at trace level.
//
// The first test uses the real shortest interval, --watch=30s. The others
// lower it with AZEXEC_TEST_WATCH_MINIMUM, a variable for azexec's own
// tests, so that each takes seconds.

// watchMinimum lets a test use --watch=1s.
const watchMinimum = "AZEXEC_TEST_WATCH_MINIMUM=1s"

// watchTimeout bounds each wait of these tests: generous, a guard against a
// hang, not an assertion on speed.
const watchTimeout = 3 * time.Minute

// startsScript is COMMAND: it appends "start PID VALUE FILE" to $LOG when
// it starts, once its traps are set (VALUE is $WATCHED and FILE the
// content of the --file $CONF, so the test reads what it was given), and
// "hup PID FILE" on SIGHUP; it prints "value VALUE" on stdout (for the
// masking test); it exits 0 on SIGTERM and 7 on SIGUSR1.
const startsScript = `trap 'echo "hup $$ ${CONF:+$(cat "$CONF")}" >> "$LOG"' HUP; trap 'exit 0' TERM; trap 'exit 7' USR1; ` +
	`if [ -n "${PROBE_WRITE-}" ] && (printf x >> "$CONF") 2>/dev/null; then echo "writable $$" >> "$LOG"; fi; ` +
	`echo "start $$ $WATCHED ${CONF:+$(cat "$CONF")}" >> "$LOG"; echo "value $WATCHED"; while :; do sleep 0.05; done`

// watchRun is one azexec --watch running in the background.
type watchRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *lockedBuffer
	stdout *lockedBuffer
	log    string
	done   chan struct{}
	code   int
}

// startWatch starts azexec with env and args; COMMAND is startsScript,
// logging to a file the test reads.
func startWatch(t *testing.T, env []string, args ...string) *watchRun {
	t.Helper()
	r := &watchRun{t: t, stderr: &lockedBuffer{}, stdout: &lockedBuffer{}, log: filepath.Join(t.TempDir(), "starts"), done: make(chan struct{})}
	args = append(args, "--", "sh", "-c", startsScript)
	r.cmd = exec.Command(azexecBin, args...)
	r.cmd.Env = append(env, "LOG="+r.log)
	r.cmd.Dir = t.TempDir()
	r.cmd.Stderr, r.cmd.Stdout = r.stderr, r.stdout
	// A group of its own, so a failing test can stop azexec and COMMAND.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reaped atomic.Bool
	go func() {
		r.cmd.Wait()
		reaped.Store(true)
		r.code, _ = shellStatus(r.cmd.ProcessState)
		close(r.done)
	}()
	t.Cleanup(func() {
		if !reaped.Load() {
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
		t.Logf("azexec's own log lines (the SDK's trace left out):\n%s", ownLines(r.stderr.String()))
	})
	return r
}

// ownLines keeps azexec's own log lines, leaving out the Azure SDK's
// (named azexec.sdk, with indented continuation lines).
func ownLines(stderr string) string {
	var b strings.Builder
	for _, l := range strings.Split(stderr, "\n") {
		if l == "" || strings.HasPrefix(l, " ") || strings.Contains(l, " azexec.sdk:") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return clip(b.String())
}

// lines returns the lines COMMAND logged that start with prefix.
func (r *watchRun) lines(prefix string) []string {
	f, err := os.Open(r.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// waitFor waits until cond holds, failing the test after watchTimeout or
// when azexec exits first.
func (r *watchRun) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.After(watchTimeout)
	for !cond() {
		select {
		case <-r.done:
			if cond() {
				return
			}
			r.t.Fatalf("azexec exited (status %d) before %s", r.code, what)
		case <-deadline:
			r.t.Fatalf("%s did not happen within %s", what, watchTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// starts waits until COMMAND has started n times and returns the start lines.
func (r *watchRun) starts(n int) []string {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("start %d of COMMAND", n), func() bool { return len(r.lines("start ")) >= n })
	return r.lines("start ")
}

// stop sends sig to azexec and returns its status.
func (r *watchRun) stop(sig syscall.Signal) int {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(watchTimeout):
		r.t.Fatalf("azexec did not exit after %v", sig)
	}
	return r.code
}

// watchScenario is a vault with a watched secret and a pinned one.
type watchScenario struct {
	f       *fake
	host    string
	env     []string
	values  []string // every secret value, for the leak search
	pinned  string   // the pinned version
	current string   // WATCHED's value at start
}

// conf is the --file flag of the scenario: CONF holds the current value
// of the watched secret, through a template of its own.
func (sc *watchScenario) conf(t *testing.T) string {
	t.Helper()
	return "CONF=" + sc.f.writeFile(t, "conf.tmpl", "{{ keyvault://"+sc.host+"/watched }}")
}

func newWatchScenario(t *testing.T, extra ...string) *watchScenario {
	t.Helper()
	f := startFake(t)
	sc := &watchScenario{f: f, host: f.vaultHost(t, "kv-watch"), pinned: oldVer}
	p := f.homeSP()
	sc.current = "watched-one-" + randomHex(8)
	f.setSecret(t, "kv-watch", "watched", "", sc.current)
	pinnedValue := "pinned-" + randomHex(8)
	f.setSecret(t, "kv-watch", "pinned", oldVer, pinnedValue)
	other := "other-" + randomHex(8)
	f.setSecret(t, "kv-watch", "other", "", other)
	sc.values = append(sc.values, sc.current, pinnedValue, other, p.secret)
	sc.env = kvEnv(f, p, append([]string{consent(sc.host),
		"WATCHED=keyvault://" + sc.host + "/watched",
		"PINNED=keyvault://" + sc.host + "/pinned/" + oldVer,
		"OTHER=keyvault://" + sc.host + "/other",
	}, extra...)...)
	return sc
}

// rotate makes a new version of secret current and returns its value.
func (sc *watchScenario) rotate(t *testing.T, secret string) string {
	t.Helper()
	v := secret + "-rotated-" + randomHex(8)
	if _, err := sc.f.RotateSecret("kv-watch", secret, v); err != nil {
		t.Fatal(err)
	}
	sc.values = append(sc.values, v)
	return v
}

// reads counts the fake's reads of a secret (any version).
func (sc *watchScenario) reads(secret string) int {
	n := 0
	for _, r := range sc.f.Requests() {
		if r.Kind == fakeazure.KindKV && (r.Path == "/secrets/"+secret || strings.HasPrefix(r.Path, "/secrets/"+secret+"/")) {
			n++
		}
	}
	return n
}

// logLine returns the first line of stderr that contains s.
func logLine(stderr, s string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// checkLogClean fails when stderr holds a value, a token, or a mask in a
// line of azexec's own (a masked value means azexec tried to log one; the
// SDK's trace lines may show masks of their own, for the headers they hide).
func checkLogClean(t *testing.T, f *fake, stderr string, values []string) {
	t.Helper()
	checkNoSecrets(t, f, stderr, values)
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, redact.Mask) && !strings.Contains(line, "azexec.sdk") {
			t.Errorf("azexec masked a value in its own log line: %s", line)
		}
	}
}

// TestWatchRestartsOnRotation is the case, at the real shortest
// interval: --watch=30s, a secret rotated while COMMAND runs, COMMAND
// restarted once with the new value; then COMMAND's own exit is azexec's.
func TestWatchRestartsOnRotation(t *testing.T) {
	t.Parallel()
	sc := newWatchScenario(t)
	// PROBE_WRITE: each process tries to append to its --file, which is
	// sealed: a restart gets new sealed files, not the old ones rewritten.
	r := startWatch(t, append(slices.Clone(sc.env), "PROBE_WRITE=1"), "--watch=30s", "--file", sc.conf(t), "--log-level", "trace")
	first := r.starts(1)
	if !strings.HasSuffix(first[0], " "+sc.current+" "+sc.current) {
		t.Fatalf("COMMAND did not get the secret's value at start, in its variable and its --file")
	}
	rotated := sc.rotate(t, "watched")
	starts := r.starts(2)
	if !strings.HasSuffix(starts[1], " "+rotated+" "+rotated) {
		t.Errorf("the restarted COMMAND did not get the rotated value, in its variable and its --file")
	}
	if n := strings.Count(r.stderr.String(), "COMMAND restarted with the rotated secrets"); n != 1 {
		t.Errorf("%d restarts logged, want 1", n)
	}
	if line := logLine(r.stderr.String(), "COMMAND restarted"); !strings.Contains(line, "[INFO]") ||
		!strings.Contains(line, `WATCHED,`) || !strings.Contains(line, `conf.tmpl:1:4 (vault \"`+sc.host+`\", secret \"watched\")`) {
		t.Errorf("the restart is not logged at info naming the rotated reference: %s", line)
	}
	if code := r.stop(syscall.SIGUSR1); code != 7 {
		t.Errorf("status %d, want 7: COMMAND's own status after it exited by itself", code)
	}
	if n := len(r.lines("start ")); n != 2 {
		t.Errorf("COMMAND started %d times, want 2: a command that exits by itself is not restarted", n)
	}
	if n := len(r.lines("writable ")); n != 0 {
		t.Errorf("%d processes could write to their --file: under --watch it must stay sealed", n)
	}
	checkLogClean(t, sc.f, r.stderr.String(), sc.values)
}

// TestWatchIgnoresPinnedVersions: rotating a secret that is referenced
// with a version restarts nothing, and azexec never asks about it again
// after the first resolution, while the unpinned ones are polled.
func TestWatchIgnoresPinnedVersions(t *testing.T) {
	t.Parallel()
	sc := newWatchScenario(t, watchMinimum)
	r := startWatch(t, sc.env, "--watch=1s", "--log-level", "trace")
	r.starts(1)
	pinnedReads := sc.reads("pinned") // the first resolution's (a challenge, then the read)
	sc.rotate(t, "pinned")
	polls := sc.reads("watched")
	r.waitFor("three polling rounds", func() bool { return sc.reads("watched") >= polls+3 })
	if n := sc.reads("pinned"); n != pinnedReads {
		t.Errorf("the pinned secret was read %d more times after COMMAND started, want none", n-pinnedReads)
	}
	if n := len(r.lines("start ")); n != 1 {
		t.Errorf("COMMAND started %d times, want once: a pinned version does not rotate", n)
	}
	if code := r.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("status %d, want 0 (COMMAND trapped the forwarded TERM)", code)
	}
	checkLogClean(t, sc.f, r.stderr.String(), sc.values)
}

// TestWatchFailedResolutionKeepsCommand: after a rotation, another
// secret cannot be read (403). COMMAND keeps running on the values it has
// and azexec warns, naming the reference; once the vault answers again,
// the next round restarts COMMAND with the new value.
func TestWatchFailedResolutionKeepsCommand(t *testing.T) {
	t.Parallel()
	sc := newWatchScenario(t, watchMinimum)
	r := startWatch(t, sc.env, "--watch=1s", "--log-level", "trace")
	r.starts(1)
	sc.f.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Path: "/secrets/other", Status: 403})
	rotated := sc.rotate(t, "watched")
	r.waitFor("the warning", func() bool {
		return strings.Contains(r.stderr.String(), "resolving the references again failed")
	})
	warn := logLine(r.stderr.String(), "resolving the references again failed")
	// One more round, for a wrong restart to show.
	polls := sc.reads("watched")
	r.waitFor("another polling round", func() bool { return sc.reads("watched") > polls })
	if !strings.Contains(warn, "[WARN]") || !strings.Contains(warn, "OTHER") || !strings.Contains(warn, "WATCHED") {
		t.Errorf("the warning does not name the failed reference (OTHER) and the rotated one (WATCHED): %s", warn)
	}
	if n := len(r.lines("start ")); n != 1 {
		t.Fatalf("COMMAND started %d times, want once: a failed resolution must not restart it", n)
	}
	if code := syscall.Kill(r.cmd.Process.Pid, 0); code != nil {
		t.Fatalf("azexec is gone after a failed re-resolution")
	}
	sc.f.ClearFaults()
	starts := r.starts(2)
	if !strings.HasSuffix(starts[1], " "+rotated) {
		t.Errorf("once the vault answered again, COMMAND was not restarted with the rotated value")
	}
	r.stop(syscall.SIGTERM)
	checkLogClean(t, sc.f, r.stderr.String(), sc.values)
}

// TestWatchReloadSignals: with --watch-reload HUP, a rotation rewrites
// the --file in place (the same /dev/fd/N of the same process reads the
// new value), sends COMMAND one SIGHUP, and does not restart it.
func TestWatchReloadSignals(t *testing.T) {
	t.Parallel()
	sc := newWatchScenario(t, watchMinimum)
	r := startWatch(t, sc.env, "--watch=1s", "--watch-reload", "HUP", "--file", sc.conf(t), "--log-level", "trace")
	first := r.starts(1)
	rotated := sc.rotate(t, "watched")
	r.waitFor("the reload signal", func() bool { return len(r.lines("hup ")) >= 1 })
	// Give further rounds the chance to signal again: they must not, as
	// the new version is now the one azexec knows.
	polls := sc.reads("watched")
	r.waitFor("two more polling rounds", func() bool { return sc.reads("watched") >= polls+2 })
	pid := strings.Fields(first[0])[1]
	if hups := r.lines("hup "); len(hups) != 1 || hups[0] != "hup "+pid+" "+rotated {
		t.Errorf("COMMAND logged %d SIGHUP lines, want exactly one, to the first process (pid %s), "+
			"reading the rotated value from its --file", len(hups), pid)
	}
	if n := len(r.lines("start ")); n != 1 {
		t.Errorf("COMMAND started %d times, want once: --watch-reload does not restart", n)
	}
	r.stop(syscall.SIGTERM)
	checkLogClean(t, sc.f, r.stderr.String(), sc.values)
}

// TestWatchMasksRotatedValues: with --mask, COMMAND's output hides the
// value it was started with and, after a rotation, the new one.
func TestWatchMasksRotatedValues(t *testing.T) {
	t.Parallel()
	sc := newWatchScenario(t, watchMinimum)
	r := startWatch(t, sc.env, "--watch=1s", "--mask", "--log-level", "trace")
	r.starts(1)
	sc.rotate(t, "watched")
	r.starts(2)
	r.waitFor("the restarted COMMAND's output", func() bool {
		return strings.Count(r.stdout.String(), "value ") >= 2
	})
	r.stop(syscall.SIGTERM)
	out := r.stdout.String()
	if n := strings.Count(out, "value <concealed by azexec>\n"); n != 2 {
		t.Errorf("%d masked value lines, want 2 (before and after the rotation); stdout:\n%s", n, out)
	}
	checkLogClean(t, sc.f, out+r.stderr.String(), sc.values)
}

// TestWatchUsage: bad --watch options are usage errors before any request.
func TestWatchUsage(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	env := f.env(f.newSP().env()...)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--watch=10s"}, "too short"},
		{[]string{"--watch=soon"}, `invalid --watch "soon"`},
		{[]string{"--watch", "--watch-signal", "BOGUS"}, "unknown signal"},
		{[]string{"--watch", "--watch-reload", "15"}, "unknown signal"},
		{[]string{"--watch", "--watch-grace", "0s"}, "--watch-grace must be positive"},
		{[]string{"--watch-reload", "HUP"}, "--watch-reload needs --watch"},
		{[]string{"--watch", "--watch-reload", "HUP"}, "there are none"},
	} {
		_, stderr, code := runAzexec(t, env, "", append(c.args, "--", "true")...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: status %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if n := f.CountRequests(""); n != 0 {
		t.Errorf("%d requests sent for bad options, want none", n)
	}
}
