package inject

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/mask"
)

// Child is a supervised COMMAND that can be restarted: --watch stops it
// and starts it again with a new environment when a secret rotates, and
// plain supervision is a Child that is never restarted.
//
// Each start has a context of its own. Restarting cancels it: os/exec then
// sends the stop signal, waits the grace period and kills the process, and
// Wait is called once per process, by the goroutine that started it. A
// start stopped on purpose is not an exit: only a process that ended by
// itself (or by a signal someone else sent) ends the Child, and its status
// is reported by the shell's rules (128+N for signal N).
//
// The signal forwarder outlives restarts: it listens from before the first
// start to Close, and relays each signal to whichever process is current.
// While a restart is in progress it waits, so a signal that arrives then
// reaches the new process instead of being lost. A request to stop azexec
// itself (INT, TERM or QUIT; Ctrl-C reaches only the old process, since the
// terminal sends it to the group) that arrives during a restart ends the
// run instead: the next process is not started.
//
// Like plain supervision, every start stays in azexec's process group (no
// Setpgid), so the terminal's signals and job control keep working. The
// stop signal goes to the child's PID alone: a shell script that starts a
// server should `exec` it, or pass the signal on.
type Child struct {
	parent context.Context
	opts   ChildOptions
	log    hclog.Logger
	name   string
	fwd    *forwarder
	// orphans reaps orphaned processes when azexec is PID 1 or a
	// subreaper (nil otherwise); end stops it and the forwarder once.
	orphans *reaper
	endOnce sync.Once

	// mu guards cur and is held for the whole of a restart, so that a
	// forwarded signal waits for the new process.
	mu  sync.Mutex
	cur *childRun

	// stops hears INT, TERM and QUIT; lastStop is when one last arrived
	// (UnixNano), read by Restart.
	stops    chan os.Signal
	lastStop atomic.Int64
}

// ChildOptions configure StartChild.
type ChildOptions struct {
	// Logger receives decisions (starts, stops, forwarded signals, the
	// status), never values or arguments. Nil means no logging.
	Logger hclog.Logger
	// StopSignal asks the child to stop on a restart, or when the context
	// given to StartChild is done; nil means SIGTERM.
	StopSignal os.Signal
	// Grace is how long the child has to exit after StopSignal before it is
	// killed; it also bounds the wait for its output after it exits. Zero
	// means DefaultKillDelay.
	Grace time.Duration
	// BeforeStart, as in RunOptions, runs once, just before the first
	// start, after the forwarder listens.
	BeforeStart func() error
	// Mask, when set, masks every value it holds in the output of each
	// process, through pipes of azexec's own made anew for each start
	// (maskpipes.go; never a pseudo-terminal, which belongs to one
	// process). Values added to it later are masked from then on.
	Mask *mask.Masker
}

// childRun is one start: its process, the cancel that stops it, and what
// Wait said once done is closed.
type childRun struct {
	cmd     *exec.Cmd
	streams childStreams // masked output, or nil
	cancel  context.CancelFunc
	done    chan struct{}
	status  int
	err     error
}

// ErrExited is Restart's answer when the current process had already ended
// by itself: it is not restarted, and Wait returns its status.
var ErrExited = errors.New("the command exited by itself")

// StartChild starts c under supervision and returns the running Child.
// When it cannot start, the Child is nil and status and err are what Run
// would return (127 for a command not found, 126 when it cannot be
// executed, 1 when ctx is already done).
func StartChild(ctx context.Context, c Command, opts ChildOptions) (ch *Child, status int, err error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.StopSignal == nil {
		opts.StopSignal = cancelSignal
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultKillDelay
	}
	if len(c.Argv) == 0 {
		return nil, statusUsage, noCommand()
	}
	if err := ctx.Err(); err != nil {
		return nil, 1, fmt.Errorf("command %q not started: %w", c.Argv[0], err)
	}
	if c.Env == nil {
		c.Env = []string{}
	}
	path, err := lookCommand(c) // before anything is set up, as Run does
	if err != nil {
		return nil, ExitStatus(err), err
	}
	ch = &Child{parent: ctx, opts: opts, log: opts.Logger, name: c.Argv[0]}
	ch.fwd = listen(ch.log)
	ch.hearStops()
	if err := beforeStart(RunOptions{BeforeStart: opts.BeforeStart}); err != nil {
		ch.fwd.stop() // signals queued for the child die with the forwarder
		ch.stopHearing()
		return nil, 1, err
	}
	run, status, err := ch.start(path, c)
	if err != nil {
		ch.fwd.stop()
		ch.stopHearing()
		return nil, status, err
	}
	ch.cur = run
	ch.fwd.start(ch.deliver)
	ch.orphans = startReaper(run.cmd.Process.Pid, ch.log)
	return ch, 0, nil
}

// end stops reaping (reaping once more what is left) and forwarding, once
// the child has ended for good.
func (ch *Child) end() {
	ch.endOnce.Do(func() {
		ch.orphans.stop()
		ch.fwd.stop()
		ch.stopHearing()
	})
}

// start runs one process of c, found at path, with a context of its own.
func (ch *Child) start(path string, c Command) (*childRun, int, error) {
	ctx, cancel := context.WithCancel(ch.parent)
	cmd := exec.CommandContext(ctx, path)
	cmd.Args, cmd.Env, cmd.Dir = c.Argv, c.Env, c.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.ExtraFiles = c.ExtraFiles
	stop := ch.opts.StopSignal
	cmd.Cancel = func() error { return cmd.Process.Signal(stop) }
	cmd.WaitDelay = ch.opts.Grace
	var streams childStreams
	if ch.opts.Mask != nil {
		streams = newMaskPipes(ch.opts.Mask, ch.log)
		if err := streams.prepare(cmd, nil); err != nil {
			cancel()
			return nil, 1, err
		}
	}
	if err := cmd.Start(); err != nil {
		cancel()
		if streams != nil {
			streams.finish()
		}
		status, err := startFailure(c.Argv[0], err)
		return nil, status, err
	}
	run := &childRun{cmd: cmd, streams: streams, cancel: cancel, done: make(chan struct{})}
	if streams != nil {
		streams.started()
	}
	go func() {
		run.err = cmd.Wait() // the only Wait on this process
		run.status = stateStatus(cmd.ProcessState)
		if streams != nil {
			streams.finish() // its output copied out, masked, before it counts as ended
		}
		cancel()
		close(run.done)
	}()
	ch.log.Debug("command started", "command", c.Argv[0], "pid", cmd.Process.Pid)
	return run, 0, nil
}

// current returns the process running now.
func (ch *Child) current() *childRun {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.cur
}

// Exited is closed when the current process ends by itself (a restart
// replaces it with the new process's channel: ask again after Restart).
func (ch *Child) Exited() <-chan struct{} { return ch.current().done }

// Wait waits for the current process to end, stops forwarding, and returns
// its status; err is non-nil when the context given to StartChild was done
// (the child was stopped) or its output could not be copied.
func (ch *Child) Wait() (status int, err error) {
	run := ch.current()
	<-run.done
	ch.end()
	ch.log.Debug("command exited", "command", ch.name, "status", run.status)
	return run.status, waitError(ch.parent, ch.name, run.err, ch.log)
}

// Restart stops the current process (the stop signal, the grace period,
// then SIGKILL) and starts next in its place. It returns ErrExited, and
// starts nothing, when the process had already ended by itself. When next
// cannot start, the error says why (ExitStatus gives the status) and the
// Child has ended: Wait returns the stopped process's status.
func (ch *Child) Restart(next Command) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	old := ch.cur
	select {
	case <-old.done:
		return ErrExited
	default:
	}
	start := time.Now()
	old.cancel()
	<-old.done
	ch.log.Debug("command stopped for a restart", "command", ch.name, "status", old.status,
		"elapsed", time.Since(start).Round(time.Millisecond))
	if ch.lastStop.Load() >= start.UnixNano() {
		ch.log.Info("azexec was asked to stop during a restart: the command is not started again", "command", ch.name)
		return ErrExited
	}
	if next.Env == nil {
		next.Env = []string{}
	}
	path, err := lookCommand(next) // the new environment's PATH
	if err != nil {
		return err
	}
	run, _, err := ch.start(path, next)
	if err != nil {
		return err
	}
	ch.cur = run
	ch.orphans.setMain(run.cmd.Process.Pid)
	return nil
}

// Signal sends s to the current process, for a program that reloads its
// configuration on a signal. It returns ErrExited when that process has
// ended.
func (ch *Child) Signal(s os.Signal) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if err := ch.cur.cmd.Process.Signal(s); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return ErrExited
		}
		return fmt.Errorf("sending %s to command %q: %w", s, ch.name, err)
	}
	return nil
}

// Stop stops the current process on purpose, as a restart would, and
// returns once it has ended; forwarding stops. Wait then returns its
// status.
func (ch *Child) Stop() {
	run := ch.current()
	run.cancel()
	<-run.done
	ch.end()
}

// deliver is the forwarder's target: the process current when the signal
// is relayed.
func (ch *Child) deliver(s os.Signal) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.cur.cmd.Process.Signal(s)
}

// hearStops records when azexec is asked to stop (stopSignals), beside the
// forwarder's own listening, so that Restart can tell a stop that arrived
// while it was under way.
func (ch *Child) hearStops() {
	ch.stops = make(chan os.Signal, 4)
	signal.Notify(ch.stops, stopSignals...)
	go func() {
		for range ch.stops {
			ch.lastStop.Store(time.Now().UnixNano())
		}
	}()
}

// stopHearing ends hearStops, once.
func (ch *Child) stopHearing() {
	signal.Stop(ch.stops) // no delivery after this returns
	close(ch.stops)
}
