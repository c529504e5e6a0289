package inject

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"

	"github.com/hashicorp/go-hclog"
)

// supervise starts the child in azexec's own process group, forwards
// signals to it until it exits (see forwarder) and returns its status: a
// Child that is never restarted. As PID 1 or a subreaper it also reaps the
// orphans that come to it (reaper). With opts.Mask it masks the child's
// output (masked.go), through superviseWith.
func supervise(ctx context.Context, c Command, opts RunOptions, log hclog.Logger) (int, error) {
	if opts.Mask != nil {
		path, err := lookCommand(c)
		if err != nil {
			return ExitStatus(err), err
		}
		return superviseMasked(ctx, path, c, opts, log)
	}
	ch, status, err := StartChild(ctx, c, ChildOptions{Logger: log, Grace: opts.KillDelay, BeforeStart: opts.BeforeStart})
	if err != nil {
		return status, err
	}
	return ch.Wait()
}

// superviseWith supervises a child whose output is masked; streams gives
// it other streams than c's: masked pipes (maskpipes.go) or a
// pseudo-terminal (pty_unix.go). Such a child is never restarted: under
// --watch a masked child is a Child with ChildOptions.Mask instead.
func superviseWith(ctx context.Context, path string, c Command, opts RunOptions, log hclog.Logger, streams childStreams) (int, error) {
	if err := ctx.Err(); err != nil {
		return 1, fmt.Errorf("command %q not started: %w", c.Argv[0], err)
	}
	cmd := command(ctx, path, c, opts)
	fwd := listen(log)
	defer fwd.stop()
	if err := beforeStart(opts); err != nil {
		return 1, err // signals queued for the child die with fwd
	}
	if streams != nil {
		if err := streams.prepare(cmd, fwd); err != nil {
			return 1, err
		}
		defer streams.finish()
	}
	if err := cmd.Start(); err != nil {
		return startFailure(c.Argv[0], err)
	}
	if streams != nil {
		streams.started()
	}
	fwd.start(cmd.Process.Signal)
	orphans := startReaper(cmd.Process.Pid, log)
	waitErr := cmd.Wait()
	orphans.stop()
	fwd.stop()
	if streams != nil {
		streams.finish()
	}
	status := stateStatus(cmd.ProcessState)
	log.Debug("command exited", "command", c.Argv[0], "status", status)
	return status, waitError(ctx, c.Argv[0], waitErr, log)
}

// command builds the exec.Cmd. Path is already resolved, so os/exec does
// no lookup on azexec's own PATH.
func command(ctx context.Context, path string, c Command, opts RunOptions) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path)
	cmd.Args = c.Argv
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.ExtraFiles = c.ExtraFiles
	cmd.Cancel = func() error { return cmd.Process.Signal(cancelSignal) }
	cmd.WaitDelay = opts.KillDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = DefaultKillDelay
	}
	return cmd
}

// waitError turns what Wait said, beyond the exit status, into Run's error:
// ctx being done is reported; output left open by a grandchild is only
// logged, since the child itself finished.
func waitError(ctx context.Context, name string, err error, log hclog.Logger) error {
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("command %q stopped: %w", name, ctx.Err())
	case err == nil, errors.As(err, &ee):
		return nil
	case errors.Is(err, exec.ErrWaitDelay):
		log.Warn("the command exited but its output stayed open; stopped waiting", "command", name)
		return nil
	}
	return fmt.Errorf("command %q: copying its input or output: %w", name, err)
}

// forwarder relays the signals in forwardedSignals to the child.
//
// The child runs in azexec's process group, so everything the terminal
// sends to the foreground group (Ctrl-C's SIGINT, Ctrl-\'s SIGQUIT, SIGWINCH
// on resize, Ctrl-Z's SIGTSTP and the SIGCONT of `fg`) reaches the child
// directly, exactly as if azexec were not there. Forwarding those again
// would deliver Ctrl-C twice, which many programs read as "force quit". So
// a terminal signal (terminalSignals) is forwarded only when azexec is not
// in the foreground process group of its controlling terminal: then it
// cannot have come from the keyboard, it was sent to azexec's PID alone
// (kill, a CI runner, a container runtime without a TTY). The other
// signals (HUP, TERM, USR1, USR2) are never sent by a keyboard and are
// always forwarded; a group-wide one (killpg, systemd's control-group
// kill) then reaches the child twice, which for these is harmless.
//
// The known gap: `kill -INT <azexec's pid>` from elsewhere while azexec is
// in its terminal's foreground is not passed on; send TERM, signal the
// process group, or use replace mode. The simpler alternatives were worse:
// forwarding everything delivers Ctrl-C twice; a separate process group
// needs the terminal's foreground handed over and back (tcsetpgrp, SIGTTOU)
// and breaks Ctrl-Z.
//
// A signal that azexec inherited as ignored (nohup's SIGHUP, the SIGINT of
// a background job in a script) is not listened to, so it stays ignored in
// the child as well: os/signal would otherwise un-ignore it.
type forwarder struct {
	sigs     chan os.Signal
	done     chan struct{}
	finished chan struct{}
	log      hclog.Logger
	started  bool
	stopped  bool
	// ownSession is set when the child runs in a session of its own, on a
	// pseudo-terminal (pty_unix.go): no signal of azexec's terminal
	// reaches it, so every one is forwarded, but SIGWINCH, which resize
	// handles (the kernel then tells the child). resize, when set, runs on
	// every SIGWINCH.
	ownSession bool
	resize     func()
}

// listen starts catching the forwarded signals before the child starts, so
// one arriving in between is queued for it rather than killing azexec.
func listen(log hclog.Logger) *forwarder {
	f := &forwarder{
		sigs:     make(chan os.Signal, 16),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
		log:      log,
	}
	for _, s := range forwardedSignals {
		if !signal.Ignored(s) {
			signal.Notify(f.sigs, s)
		}
	}
	return f
}

// start relays caught signals through deliver (to the child's current
// process) until stop.
func (f *forwarder) start(deliver func(os.Signal) error) {
	f.started = true
	go func() {
		defer close(f.finished)
		for {
			select {
			case s := <-f.sigs:
				f.relay(deliver, s)
			case <-f.done:
				return
			}
		}
	}()
}

// relay passes one signal on, unless the terminal already delivered it.
func (f *forwarder) relay(deliver func(os.Signal) error, s os.Signal) {
	if f.resize != nil && s == winchSignal {
		f.resize()
		if f.ownSession {
			return // the kernel tells the child, through its terminal
		}
	}
	if terminalSignals[s] && !f.ownSession && inTerminalForeground() {
		f.log.Debug("not forwarding signal: the terminal sent it to the command too", "signal", s.String())
		return
	}
	f.log.Debug("forwarding signal", "signal", s.String())
	if err := deliver(s); err != nil && !errors.Is(err, os.ErrProcessDone) {
		f.log.Warn("forwarding signal failed", "signal", s.String(), "error", err.Error())
	}
}

// stop ends forwarding and restores the signals' default handling; safe to
// call twice, and before start.
func (f *forwarder) stop() {
	if f.stopped {
		return
	}
	f.stopped = true
	signal.Stop(f.sigs)
	close(f.done)
	if f.started {
		<-f.finished
	}
}
