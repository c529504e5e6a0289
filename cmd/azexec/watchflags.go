package main

import (
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/watch"
)

// The --watch options: flags → watchOptions, decided once before anything
// is fetched (watchPlan), so that a bad interval or signal is a usage
// error (exit 2) with no request sent.

// watchSetting is the value of --watch[=INTERVAL]: a flag that may stand
// alone (--watch, AZEXEC_WATCH=1: the default interval) or carry an
// interval (--watch=30s, AZEXEC_WATCH=10m). It tells the flag package it
// is a boolean flag, so that a bare --watch does not swallow the next
// argument.
type watchSetting struct {
	on       bool
	interval time.Duration
}

// Set reads true/false (and 1/0, yes/no, on/off) or a duration.
func (w *watchSetting) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		w.on, w.interval = true, watch.DefaultInterval
		return nil
	case "false", "0", "no", "off", "":
		w.on, w.interval = false, 0
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	w.on, w.interval = true, d
	return nil
}

func (w *watchSetting) String() string {
	if w == nil || !w.on {
		return ""
	}
	return w.interval.String()
}

// IsBoolFlag lets --watch stand without a value.
func (w *watchSetting) IsBoolFlag() bool { return true }

// watchFlag is --watch: a generic flag whose value is optional, so it
// neither shows a placeholder in --help nor consumes the next argument.
type watchFlag struct{ *cli.GenericFlag }

// TakesValue is false: --watch alone is complete, --watch=30s still works.
func (watchFlag) TakesValue() bool { return false }

// String is the flag's line in --help, without a value placeholder.
func (f watchFlag) String() string { return cli.FlagStringer(f) }

// watchFlags are the --watch options, fresh values for each flag set.
func watchFlags() []cli.Flag {
	return []cli.Flag{
		watchFlag{&cli.GenericFlag{Name: "watch", Value: &watchSetting{}, EnvVars: []string{"AZEXEC_WATCH"},
			Usage: "--watch[=INTERVAL]: stay COMMAND's parent and check every INTERVAL (default 5m, at least 30s) " +
				"whether a referenced secret that names no version has rotated; if so, resolve every reference again " +
				"and restart COMMAND with the new values (or see --watch-reload). If that resolution fails, COMMAND " +
				"keeps running on the old values and azexec warns, naming the references"}},
		&cli.StringFlag{Name: "watch-signal", Value: "TERM", EnvVars: []string{"AZEXEC_WATCH_SIGNAL"},
			Usage: "with --watch, stop COMMAND for a restart with `SIGNAL`, then --watch-grace, then KILL"},
		&cli.DurationFlag{Name: "watch-grace", Value: inject.DefaultKillDelay, EnvVars: []string{"AZEXEC_WATCH_GRACE"},
			Usage: "with --watch, how long (`DURATION`) COMMAND may take to stop before it is killed"},
		&cli.StringFlag{Name: "watch-reload", EnvVars: []string{"AZEXEC_WATCH_RELOAD"},
			Usage: "with --watch, do not restart: rewrite the --file files in place and send COMMAND `SIGNAL` " +
				"(e.g. HUP), for programs that reload their configuration; variables keep their old values"},
	}
}

// watchOptionNames are the options that mean nothing without --watch.
var watchOptionNames = []string{"watch-signal", "watch-grace", "watch-reload"}

// readWatch reads the --watch options into g.
func readWatch(c *cli.Context, g *globalOptions, setAt func(string) *cli.Context) {
	if w, ok := setAt("watch").Generic("watch").(*watchSetting); ok && w != nil {
		g.Watch = *w
	}
	g.WatchSignal = setAt("watch-signal").String("watch-signal")
	g.WatchGrace = setAt("watch-grace").Duration("watch-grace")
	g.WatchReload = setAt("watch-reload").String("watch-reload")
	g.WatchExtras = nil
	for _, n := range watchOptionNames {
		if setAt(n).IsSet(n) {
			g.WatchExtras = append(g.WatchExtras, n)
		}
	}
}

// watchOptions are the --watch options, checked.
type watchOptions struct {
	on       bool
	interval time.Duration
	signal   os.Signal // stops COMMAND for a restart
	grace    time.Duration
	reload   os.Signal // nil: restart; else rewrite the files and send it
}

// minimumWatchVar is for azexec's own tests only: it lowers the shortest
// --watch interval, so that end-to-end tests of rotation take seconds.
// It is read from azexec's process environment (trusted; an env file
// cannot set AZEXEC_* variables) and is not documented for users.
const minimumWatchVar = "AZEXEC_TEST_WATCH_MINIMUM"

// watchPlan checks the --watch options, before any request.
func watchPlan(g globalOptions) (watchOptions, error) {
	if !g.Watch.on {
		if len(g.WatchExtras) > 0 {
			return watchOptions{}, fail.New(fail.Usage, "--%s needs --watch", g.WatchExtras[0]).
				WithHint("add --watch (or --watch=INTERVAL) to watch the referenced secrets for rotation")
		}
		return watchOptions{}, nil
	}
	w := watchOptions{on: true, interval: g.Watch.interval, grace: g.WatchGrace}
	if minimum := minimumWatchInterval(); w.interval < minimum {
		return w, fail.New(fail.Usage, "--watch=%s is too short: the shortest interval is %s", w.interval, minimum).
			WithHint("secrets rarely rotate more than daily; --watch=5m (the default) notices within minutes")
	}
	if w.grace <= 0 {
		return w, fail.New(fail.Usage, "--watch-grace must be positive, not %s", w.grace).
			WithHint("give a duration such as 10s (the default) or 1m")
	}
	var err error
	if w.signal, err = inject.ParseSignal(g.WatchSignal); err != nil {
		return w, fail.New(fail.Usage, "--watch-signal %q: %v", g.WatchSignal, err).
			WithHint("use one of: %s", strings.Join(inject.SignalNames(), ", "))
	}
	if g.WatchReload != "" {
		if w.reload, err = inject.ParseSignal(g.WatchReload); err != nil {
			return w, fail.New(fail.Usage, "--watch-reload %q: %v", g.WatchReload, err).
				WithHint("use one of: %s; HUP is the usual reload signal", strings.Join(inject.SignalNames(), ", "))
		}
		if len(g.Files) == 0 {
			return w, fail.New(fail.Usage, "--watch-reload rewrites the --file files, but there are none").
				WithHint("add --file VAR=TEMPLATE for the configuration COMMAND reloads, or leave out --watch-reload to restart COMMAND")
		}
	}
	return w, nil
}

// minimumWatchInterval is watch.MinInterval, unless azexec's own tests
// lowered it (minimumWatchVar).
func minimumWatchInterval() time.Duration {
	if v, ok := os.LookupEnv(minimumWatchVar); ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return watch.MinInterval
}
