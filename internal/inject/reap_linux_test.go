package inject

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// subreaper makes the test process a child subreaper for the test, so
// orphans come to it as they come to a container's PID 1.
func subreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// TestReaperReapsOrphansNotOsExecChildren: an orphan that exits is reaped,
// while a child that os/exec started (the az CLI the SDK runs while azexec
// serves tokens) keeps its status for its own Wait, even when that Wait
// comes long after the child exited. A reaper that took any zombie would
// leave that Wait with "no child processes".
func TestReaperReapsOrphansNotOsExecChildren(t *testing.T) {
	subreaper(t)
	if !shouldReap() {
		t.Fatal("shouldReap is false for a subreaper")
	}
	r := startReaper(0, hclog.NewNullLogger())
	defer r.stop()

	out, err := exec.Command("sh", "-c", `(sleep 0.05 & echo $!)`).Output()
	if err != nil {
		t.Fatal(err)
	}
	orphan := strings.TrimSpace(string(out))

	late := exec.Command("sh", "-c", "exit 3")
	if err := late.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // both have exited; the reaper saw SIGCHLD
	var ee *exec.ExitError
	if err := late.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("os/exec's Wait after the reaper ran: %v; want exit status 3", err)
	}
	if state := procState(orphan); state != "" {
		t.Errorf("orphan %s is still there in state %q; want it reaped", orphan, state)
	}
}

// TestReaperLeavesTheMainChild: the supervised child's zombie is left for
// exec.Cmd.Wait, whose status azexec exits with.
func TestReaperLeavesTheMainChild(t *testing.T) {
	subreaper(t)
	cmd := exec.Command("sh", "-c", "exit 9")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := startReaper(cmd.Process.Pid, hclog.NewNullLogger())
	time.Sleep(200 * time.Millisecond)
	err := cmd.Wait()
	r.stop()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 9 {
		t.Errorf("Wait: %v; want exit status 9", err)
	}
}

// procState is the state letter of /proc/PID/stat, "" if it is gone.
func procState(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return "?"
}

// TestPidfdNames reads both PID fields of a pidfd's fdinfo.
func TestPidfdNames(t *testing.T) {
	info := "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4242\nNSpid:\t4242\t17\n"
	for pid, want := range map[int]bool{4242: true, 17: true, 42: false, 1: false} {
		if got := pidfdNames(info, pid); got != want {
			t.Errorf("pidfdNames(%d) = %v, want %v", pid, got, want)
		}
	}
}

// FuzzPidfdNames: any fdinfo text is read without a panic, and a match
// is only ever on a field that is the PID's decimal form.
func FuzzPidfdNames(f *testing.F) {
	f.Add("Pid:\t4242\nNSpid:\t4242\t17\n", 17)
	f.Add("NSpid:\n", 0)
	f.Add("Pid:", -1)
	f.Fuzz(func(t *testing.T, fdinfo string, pid int) {
		if pidfdNames(fdinfo, pid) && !strings.Contains(fdinfo, strconv.Itoa(pid)) {
			t.Errorf("pidfdNames(%q, %d) matched a PID the text does not hold", fdinfo, pid)
		}
	})
}

// TestReaperFollowsRestarts: as a subreaper, a Child that is restarted
// (--watch) keeps its own statuses (the stopped process's goes to the
// restart, the new one's to Wait) while the orphans both processes left
// behind are reaped.
func TestReaperFollowsRestarts(t *testing.T) {
	subreaper(t)
	log := t.TempDir() + "/log"
	orphanScript := `trap 'exit 0' TERM; (sleep 0.05 & echo "orphan $!" >> "$LOG"); echo "start $GEN" >> "$LOG"; ` +
		`[ "$GEN" = 2 ] && { for p in $(sed -n 's/^orphan //p' "$LOG"); do ` +
		`i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; done; exit 5; }; ` +
		`while :; do sleep 0.02; done`
	ch, _, err := StartChild(t.Context(), genCommand(t, log, "1", orphanScript), ChildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ch.orphans == nil {
		t.Fatal("no reaper for a subreaper's child")
	}
	waitForLine(t, log, "start 1")
	if err := ch.Restart(genCommand(t, log, "2", orphanScript)); err != nil {
		t.Fatal(err)
	}
	status, err := ch.Wait()
	if err != nil || status != 5 {
		t.Errorf("status %d, err %v; want the restarted process's own 5", status, err)
	}
	// The second process waits (up to 10 s) until both orphans are gone,
	// which only the reaper can make them once they have exited.
	data, _ := os.ReadFile(log)
	for _, l := range strings.Split(string(data), "\n") {
		if pid, ok := strings.CutPrefix(l, "orphan "); ok {
			if state := procState(pid); state == "Z" {
				t.Errorf("orphan %s is a zombie; want it reaped", pid)
			}
		}
	}
}
