//go:build unix

package inject

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The restartable child: a restart stops the process (stop signal, grace,
// SIGKILL) and starts the next one; a process that exits by itself ends the
// Child with its status, and is never restarted; the forwarder keeps
// relaying to whichever process is current.

// genScript appends "start $GEN" to the log file when it starts (after its
// traps are set, so a line in the log means it is ready for signals) and
// "stop $GEN" when it gets the stop signal, then waits. USR1 makes it exit 7.
const genScript = `trap 'echo "stop $GEN" >> "$LOG"; exit 0' TERM; trap 'exit 7' USR1; ` +
	`echo "start $GEN" >> "$LOG"; while :; do sleep 0.02; done`

func genCommand(t *testing.T, log, gen, script string) Command {
	return Command{Argv: []string{"sh", "-c", script}, Env: append(shEnv(t), "LOG="+log, "GEN="+gen)}
}

// waitForLine waits until the log file holds line.
func waitForLine(t *testing.T, log, line string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(log)
		if strings.Contains(string(data), line+"\n") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	data, _ := os.ReadFile(log)
	t.Fatalf("%q never appeared in the log:\n%s", line, data)
}

func TestChildRestart(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	ch, _, err := StartChild(context.Background(), genCommand(t, log, "1", genScript), ChildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 1")
	if err := ch.Restart(genCommand(t, log, "2", genScript)); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 2")
	select {
	case <-ch.Exited():
		t.Fatal("Exited is closed after a restart: a stop on purpose was reported as an exit")
	default:
	}
	if err := ch.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	status, err := ch.Wait()
	if err != nil || status != 7 {
		t.Errorf("status %d, err %v; want the second process's own 7", status, err)
	}
	data, _ := os.ReadFile(log)
	if got, want := string(data), "start 1\nstop 1\nstart 2\n"; got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

func TestChildRestartKillsAfterGrace(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	stubborn := `trap '' TERM; echo "start $GEN" >> "$LOG"; while :; do sleep 0.02; done`
	ch, _, err := StartChild(context.Background(), genCommand(t, log, "1", stubborn),
		ChildOptions{Grace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 1")
	if err := ch.Restart(genCommand(t, log, "2", genScript)); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 2")
	ch.Stop()
	if status, _ := ch.Wait(); status != 0 {
		t.Errorf("status %d after Stop, want 0 (the script's TERM trap)", status)
	}
}

func TestChildStopSignal(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	onHUP := `trap 'echo "hup $GEN" >> "$LOG"; exit 0' HUP; echo "start $GEN" >> "$LOG"; while :; do sleep 0.02; done`
	ch, _, err := StartChild(context.Background(), genCommand(t, log, "1", onHUP), ChildOptions{StopSignal: syscall.SIGHUP})
	if err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 1")
	if err := ch.Restart(genCommand(t, log, "2", onHUP)); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "hup 1")
	ch.Stop()
	ch.Wait()
}

func TestChildExitedByItselfIsNotRestarted(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	ch, _, err := StartChild(context.Background(), genCommand(t, log, "1", `echo "start $GEN" >> "$LOG"; exit 3`), ChildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-ch.Exited()
	if err := ch.Restart(genCommand(t, log, "2", genScript)); !errors.Is(err, ErrExited) {
		t.Errorf("Restart after the exit: %v, want ErrExited", err)
	}
	if err := ch.Signal(syscall.SIGUSR1); !errors.Is(err, ErrExited) {
		t.Errorf("Signal after the exit: %v, want ErrExited", err)
	}
	status, err := ch.Wait()
	if err != nil || status != 3 {
		t.Errorf("status %d, err %v; want 3", status, err)
	}
	if data, _ := os.ReadFile(log); string(data) != "start 1\n" {
		t.Errorf("log %q: the command was started again", data)
	}
}

func TestChildSignalDeathIs128PlusN(t *testing.T) {
	ch, _, err := StartChild(context.Background(), Command{Argv: []string{"sh", "-c", "kill -KILL $$"}, Env: shEnv(t)}, ChildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := ch.Wait(); err != nil || status != 137 {
		t.Errorf("status %d, err %v; want 137", status, err)
	}
}

func TestChildRestartNotFound(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	ch, _, err := StartChild(context.Background(), genCommand(t, log, "1", genScript), ChildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 1")
	err = ch.Restart(Command{Argv: []string{"no-such-command-azexec"}, Env: shEnv(t)})
	if ExitStatus(err) != StatusNotFound {
		t.Errorf("Restart with a missing command: %v (status %d), want 127", err, ExitStatus(err))
	}
	if status, _ := ch.Wait(); status != 0 {
		t.Errorf("status %d, want the stopped process's 0", status)
	}
}

// TestChildForwarderSurvivesRestart sends USR2 to this process (the
// supervisor) after a restart: the new child must get it.
func TestChildForwarderSurvivesRestart(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	onUSR2 := `trap 'echo "usr2 $GEN" >> "$LOG"; exit 0' USR2; echo "start $GEN" >> "$LOG"; while :; do sleep 0.02; done`
	ch, _, err := StartChild(context.Background(), genCommand(t, log, "1", onUSR2), ChildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 1")
	if err := ch.Restart(genCommand(t, log, "2", onUSR2)); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 2")
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "usr2 2")
	if status, err := ch.Wait(); err != nil || status != 0 {
		t.Errorf("status %d, err %v", status, err)
	}
	if data, _ := os.ReadFile(log); strings.Contains(string(data), "usr2 1") {
		t.Errorf("the stopped process got the signal:\n%s", data)
	}
}

// A stop asked of azexec while a restart is under way ends the run: the
// next process never starts (a Ctrl-C reached only the old process, which
// the terminal signals with the whole group).
func TestChildStopDuringRestartStartsNothing(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	// The stop signal makes it log "stopping", then exit only once "go"
	// exists, so the test signals azexec while the restart is surely under way.
	slow := `trap 'echo "stopping $GEN" >> "$LOG"; while [ ! -e "$LOG.go" ]; do sleep 0.02; done; exit 0' TERM; ` +
		`echo "start $GEN" >> "$LOG"; while :; do sleep 0.02; done`
	ch, _, err := StartChild(context.Background(), genCommand(t, log, "1", slow), ChildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitForLine(t, log, "start 1")
	done := make(chan error, 1)
	go func() { done <- ch.Restart(genCommand(t, log, "2", genScript)) }()
	waitForLine(t, log, "stopping 1")
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for ch.lastStop.Load() == 0 { // heard before the old process may exit
		time.Sleep(5 * time.Millisecond)
	}
	if err := os.WriteFile(log+".go", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrExited) {
		t.Fatalf("Restart after a stop was asked: %v, want ErrExited", err)
	}
	if status, _ := ch.Wait(); status != 0 {
		t.Errorf("status %d, want the stopped process's 0", status)
	}
	if data, _ := os.ReadFile(log); strings.Contains(string(data), "start 2") {
		t.Errorf("the next process started after azexec was asked to stop:\n%s", data)
	}
}
