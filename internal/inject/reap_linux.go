package inject

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// shouldReap reports whether orphans become azexec's children: as PID 1
// (a container's entrypoint) every orphan of the namespace does, and as a
// child subreaper (PR_SET_CHILD_SUBREAPER, set by whoever started azexec
// and kept across execve) every orphan below it does. Anywhere else orphans
// go to init, which reaps them, and azexec leaves them alone.
func shouldReap() bool {
	if os.Getpid() == 1 {
		return true
	}
	var on int32
	err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&on)), 0, 0, 0)
	return err == nil && on != 0
}

// reaper reaps orphaned children, as tini does, while a supervised child
// runs, without ever taking a status that os/exec is waiting for.
//
// A reaper that calls wait4(-1) steals the status of the main child from
// exec.Cmd.Wait, and of any other process azexec itself runs meanwhile (the
// az CLI the SDK starts to refresh a token that --inject endpoint or serve
// hands out). So it only peeks: waitid(P_ALL, WNOWAIT) names a zombie child
// without reaping it, and the zombie is reaped (wait4 on its PID) only when
// no one in azexec waits for it. Go starts every child with a pidfd that it
// holds until its Wait has reaped it, so "someone waits" is "azexec holds a
// pidfd for this PID", read from /proc/self/fdinfo; the main child's PID is
// checked as well. A zombie that someone waits for goes away when they
// reap it; as the kernel names zombies oldest first and one may hide
// others, the peek is retried shortly after.
//
// The known gap: on a kernel without pidfds (Linux before 5.4) Go waits by
// PID, so an az that exits while an orphan is being reaped could lose its
// status to the reaper; the main child never does.
type reaper struct {
	main  atomic.Int64 // the supervised child's PID: a restart changes it
	sigs  chan os.Signal
	done  chan struct{}
	ended chan struct{}
	log   hclog.Logger
}

// startReaper listens for SIGCHLD and reaps orphans until stop, or returns
// nil when azexec is neither PID 1 nor a subreaper.
func startReaper(main int, log hclog.Logger) *reaper {
	if !shouldReap() {
		return nil
	}
	r := &reaper{
		sigs:  make(chan os.Signal, 1),
		done:  make(chan struct{}),
		ended: make(chan struct{}),
		log:   log,
	}
	r.main.Store(int64(main))
	signal.Notify(r.sigs, syscall.SIGCHLD)
	log.Debug("reaping orphaned processes", "pid1", os.Getpid() == 1)
	go r.loop()
	return r
}

// retryReap is how soon a peek blocked by a zombie that os/exec is about
// to reap is tried again.
const retryReap = 20 * time.Millisecond

func (r *reaper) loop() {
	defer close(r.ended)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	r.reap(retry) // orphans that exited before SIGCHLD was caught
	for {
		select {
		case <-r.sigs:
		case <-retry.C:
		case <-r.done:
			return
		}
		r.reap(retry)
	}
}

// reap reaps every zombie child no one in azexec waits for, and arms retry
// when one that someone waits for hides the rest.
func (r *reaper) reap(retry *time.Timer) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		pid := siginfoPID(&info)
		if err != nil || pid == 0 {
			return // no children, or none has exited
		}
		if pid == int(r.main.Load()) || waitedFor(pid) {
			retry.Reset(retryReap)
			return
		}
		var ws syscall.WaitStatus
		if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err == nil && got == pid {
			r.log.Debug("reaped an orphaned process", "pid", pid, "status", ws.ExitStatus())
		}
	}
}

// stop ends reaping and then reaps what is left once (the main child has
// been waited for by then); safe on a nil reaper.
func (r *reaper) stop() {
	if r == nil {
		return
	}
	signal.Stop(r.sigs)
	close(r.done)
	<-r.ended
	r.main.Store(0)
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	r.reap(retry)
}

// setMain names the supervised child's new PID after a restart (--watch);
// safe on a nil reaper.
func (r *reaper) setMain(pid int) {
	if r != nil {
		r.main.Store(int64(pid))
	}
}

// siginfoPID is si_pid of a SIGCHLD siginfo, which x/sys/unix leaves
// opaque: the union after si_signo, si_errno and si_code is aligned to a
// pointer, and si_pid is its first field. Zero when nothing was filled in.
func siginfoPID(info *unix.Siginfo) int {
	const ptr = unsafe.Sizeof(uintptr(0))
	off := (3*unsafe.Sizeof(int32(0)) + ptr - 1) &^ (ptr - 1)
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(info), off)))
}

// waitedFor reports whether azexec holds a pidfd for pid: a child that Go's
// os.StartProcess started and has not yet reaped.
func waitedFor(pid int) bool {
	ents, err := os.ReadDir("/proc/self/fdinfo")
	if err != nil {
		return true // cannot tell: leave it to whoever may wait for it
	}
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err != nil || target != "anon_inode:[pidfd]" {
			continue
		}
		if b, err := os.ReadFile("/proc/self/fdinfo/" + e.Name()); err == nil && pidfdNames(string(b), pid) {
			return true
		}
	}
	return false
}

// pidfdNames reports whether a pidfd's fdinfo names pid. "Pid:" is the PID
// in the namespace of the /proc mount; the last field of "NSpid:" is the
// PID in the process's own namespace, which is azexec's when /proc belongs
// to another (unshare -p without --mount-proc). A match on either counts:
// a false match only leaves a zombie for a later peek.
func pidfdNames(fdinfo string, pid int) bool {
	want := strconv.Itoa(pid)
	for _, line := range strings.Split(fdinfo, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "Pid" && name != "NSpid") {
			continue
		}
		if f := strings.Fields(value); len(f) > 0 && (f[0] == want || f[len(f)-1] == want) {
			return true
		}
	}
	return false
}
