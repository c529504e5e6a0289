package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/mask"
	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/template"
	"github.com/azexec/azexec/internal/watch"
)

// --watch: azexec stays COMMAND's parent and, every interval, asks the
// vaults whether a secret COMMAND was given has rotated (internal/watch).
// On a rotation it resolves every reference again, all or nothing; on
// success it restarts COMMAND with the new values (inject.Child), or with
// --watch-reload rewrites the --file files in place and sends the reload
// signal; on failure COMMAND keeps running on the values it has and azexec
// warns, naming the references. COMMAND exiting by itself ends azexec
// with its status, as without --watch; it is never restarted.
//
// Logs name variables, vaults, secrets and versions, never a value.

// watcher is one --watch run.
type watcher struct {
	s *session
	g globalOptions
	w watchOptions
	// before is the child's environment with its references unresolved,
	// which each resolution starts from; env is what COMMAND runs with.
	before *inject.Env
	env    *inject.Env
	tokens []tokenRequest
	cmd    inject.Command
	files  childFiles
	fetch  *providers.Fetcher
	poll   *watch.Poller
	// failing are the secrets whose last check failed, by description.
	failing map[string]bool
	// masker masks COMMAND's output (--mask), nil when off; each new
	// resolution's values are added to it before COMMAND gets them.
	masker *mask.Masker
	// newValues learns every value a new resolution brings before COMMAND
	// gets it: the scrubber, the CI runner's masking, and any output
	// masking added to the run.
	newValues []func(values ...string) error
}

// newWatcher prepares --watch for a run whose references were resolved
// (res) from before into env, with the --file files handed over.
func newWatcher(s *session, g globalOptions, w watchOptions, before, env *inject.Env, res resolution, cmd inject.Command, files childFiles) (*watcher, error) {
	emulators, err := keyVaultEmulators(g)
	if err != nil {
		return nil, err
	}
	tokens, err := parseTokenFlags(s.id.Cloud, g.Tokens)
	if err != nil {
		return nil, err
	}
	wt := &watcher{s: s, g: g, w: w, before: before, env: env, tokens: tokens, cmd: cmd, files: files,
		fetch: newFetcher(s, g, emulators)}
	wt.poll = wt.poller(res)
	return wt, nil
}

// poller watches the unpinned references of res at the versions read: a
// variable's by its name, a template's by its FILE:LINE:COLUMN.
func (wt *watcher) poller(res resolution) *watch.Poller {
	watched := make([]watch.Watched, 0, len(res.vars)+len(res.files))
	for _, r := range res.vars {
		watched = append(watched, watch.Watched{Ref: r.ref, Version: r.Version, Variables: []string{r.Variable}})
	}
	for _, r := range res.files {
		watched = append(watched, watch.Watched{Ref: r.ref, Version: r.Version, Variables: []string{r.at}})
	}
	check := func(ctx context.Context, refs []providers.Reference) []providers.Result {
		results := wt.fetch.Fetch(ctx, refs)
		for _, res := range results {
			wt.s.scrub.Add(res.Value.Reveal()) // a new value is known before anything is logged
		}
		return results
	}
	return watch.New(check, wt.s.id.Cloud, wt.w.interval, watch.DefaultBudget, watched)
}

// run starts COMMAND and watches until it exits by itself; the result is
// its status (childStatus) or why it could not be (re)started.
func (wt *watcher) run(ctx context.Context, handOff func() error) error {
	log := wt.s.log
	child, _, err := inject.StartChild(ctx, wt.cmd, inject.ChildOptions{
		Logger: log, StopSignal: wt.w.signal, Grace: wt.w.grace, BeforeStart: handOff, Mask: wt.masker})
	if err != nil {
		return err
	}
	if wt.poll.Len() == 0 {
		log.Warn("--watch: no key vault reference without a version to watch; COMMAND runs supervised, never restarted")
		return finish(child)
	}
	log.Info("watching secrets for rotation", "secrets", wt.poll.Len(), "interval", wt.w.interval, "on_change", wt.action())
	timer := time.NewTimer(wt.poll.Next())
	defer timer.Stop()
	for {
		select {
		case <-child.Exited():
			return finish(child)
		case <-timer.C:
		}
		if err := wt.round(ctx, child); err != nil {
			if errors.Is(err, inject.ErrExited) {
				return finish(child)
			}
			child.Stop()
			return err
		}
		timer.Reset(wt.poll.Next())
	}
}

// action names what a rotation does, for the log.
func (wt *watcher) action() string {
	if wt.w.reload != nil {
		return "reload with " + inject.SignalName(wt.w.reload)
	}
	return "restart"
}

// finish returns the status of COMMAND, which exited by itself.
func finish(child *inject.Child) error {
	status, err := child.Wait()
	if err != nil {
		return err
	}
	return childStatus(status)
}

// round checks the watched secrets once and applies a rotation. It is
// cut short when COMMAND exits meanwhile. Only a failure to start COMMAND
// again, or COMMAND's own exit (inject.ErrExited), ends the run.
func (wt *watcher) round(ctx context.Context, child *inject.Child) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exited := child.Exited()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	changed, failed := wt.poll.Round(ctx)
	if ctx.Err() != nil {
		return inject.ErrExited
	}
	wt.reportFailures(failed)
	if len(changed) == 0 {
		return nil
	}
	return wt.apply(ctx, child, changed)
}

// reportFailures logs the checks that failed: a warning when a secret
// starts failing (its rotation would go unnoticed), debug while it goes on
// failing, info when it is checked again.
func (wt *watcher) reportFailures(failed []watch.Failure) {
	now := make(map[string]bool, len(failed))
	for _, f := range failed {
		name := describeWatched(f.Watched)
		now[name] = true
		msg := "could not check a secret for rotation; trying again next round"
		if wt.failing[name] {
			wt.s.log.Debug(msg, "references", name, "error", firstLine(f.Err.Error()))
			continue
		}
		wt.s.log.Warn(msg, "references", name, "error", firstLine(f.Err.Error()))
	}
	for name := range wt.failing {
		if !now[name] {
			wt.s.log.Info("a secret can be checked for rotation again", "references", name)
		}
	}
	wt.failing = now
}

// apply resolves everything again after a rotation and restarts COMMAND
// (or has it reload). A failed resolution leaves COMMAND as it is.
func (wt *watcher) apply(ctx context.Context, child *inject.Child, changed []watch.Change) error {
	log := wt.s.log
	names := describeChanges(changed)
	log.Info("secrets rotated; resolving every reference again", "references", names)
	env, res, err := wt.resolveAgain(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return inject.ErrExited
		}
		log.Warn("secrets rotated, but resolving the references again failed: COMMAND keeps running with the values it has; trying again next round",
			"references", names, "error", err.Error())
		return nil
	}
	if err := wt.announce(env, res); err != nil {
		return err
	}
	values := template.Values{Secrets: res.fileSecrets, Env: env}
	if wt.w.reload != nil {
		// The files first (rendered all before any is rewritten), then the
		// signal: COMMAND reads the new content in place.
		if err := wt.files.rerender(values); err != nil {
			log.Warn("secrets rotated, but the --file files could not be rendered again: COMMAND keeps running with the values it has",
				"references", names, "error", err.Error())
			return nil
		}
		wt.poll = wt.poller(res)
		return wt.reload(child, names, env)
	}
	// A restart: new sealed files for the new process, at the same
	// /dev/fd/N; the old process keeps reading its own until it stops.
	next := wt.cmd
	next.ExtraFiles = slices.Clone(wt.cmd.ExtraFiles)
	release, err := wt.files.renew(values, &next)
	if err != nil {
		log.Warn("secrets rotated, but the --file files could not be rendered again: COMMAND keeps running with the values it has",
			"references", names, "error", err.Error())
		return nil
	}
	wt.poll = wt.poller(res)
	wt.env = env
	next.Env = env.Environ()
	wt.cmd = next
	err = child.Restart(wt.cmd)
	release()
	if err != nil {
		return err
	}
	log.Info("COMMAND restarted with the rotated secrets", "command", wt.cmd.Argv[0], "references", names)
	return nil
}

// reload sends the reload signal after the files were rewritten. The
// variables of a running process cannot change: those that changed are
// named, since COMMAND sees them only when it is started again.
func (wt *watcher) reload(child *inject.Child, names []string, env *inject.Env) error {
	var stale []string
	for _, k := range env.Keys() {
		nv, _ := env.Get(k)
		if ov, _ := wt.env.Get(k); nv != ov {
			stale = append(stale, k)
		}
	}
	if err := child.Signal(wt.w.reload); err != nil {
		return err
	}
	wt.s.log.Info("COMMAND told to reload its configuration", "signal", inject.SignalName(wt.w.reload), "references", names)
	if len(stale) > 0 {
		wt.s.log.Warn("--watch-reload: these variables changed, but COMMAND keeps their old values until it is restarted",
			"variables", stale)
	}
	return nil
}

// resolveAgain resolves every reference (and --token) again from the
// unresolved environment, all or nothing, and returns COMMAND's new
// environment: the current one with each resolved variable replaced, so
// that what the injection mode set stays as it is.
func (wt *watcher) resolveAgain(ctx context.Context) (*inject.Env, resolution, error) {
	fresh := wt.before.Clone()
	res, err := resolveReferencesIn(ctx, wt.s, wt.g, fresh, wt.fetch)
	if err != nil {
		return nil, res, err
	}
	var tokens []string
	if len(wt.tokens) > 0 {
		if tokens, err = fetchTokens(ctx, wt.s, wt.tokens); err != nil {
			return nil, res, err
		}
	}
	env := wt.env.Clone()
	for _, r := range res.vars {
		v, _ := fresh.Get(r.Variable)
		env.Set(r.Variable, v, fresh.Origin(r.Variable))
	}
	for i, t := range wt.tokens {
		env.Set(t.name, tokens[i], inject.Origin{Kind: inject.OriginAzexec})
	}
	return env, res, nil
}

// announce hands every value of the new resolution to newValues and the
// output masker (the scrubber already knows them), before COMMAND can
// print one.
func (wt *watcher) announce(env *inject.Env, res resolution) error {
	values := secretValues(env, res.vars, tokenVars(wt.g.Tokens))
	for _, v := range res.fileSecrets {
		values = append(values, v)
	}
	if wt.masker != nil {
		vars := secretVars(env, res.vars, tokenVars(wt.g.Tokens))
		for r, v := range res.fileSecrets {
			if v != "" {
				vars = append(vars, namedValue{"--file template secret " + r.Vault() + "/" + r.Secret, v})
			}
		}
		addMasked(wt.s.log, wt.masker, vars)
	}
	for _, f := range wt.newValues {
		if err := f(values...); err != nil {
			return err
		}
	}
	return nil
}

// describeChanges names each rotated secret and its variables, with the
// versions (which are not secret), never a value.
func describeChanges(changed []watch.Change) []string {
	out := make([]string, 0, len(changed))
	for _, c := range changed {
		out = append(out, fmt.Sprintf("%s: version %s -> %s", describeWatched(c.Watched), shortVersion(c.Version), shortVersion(c.Current)))
	}
	slices.Sort(out)
	return out
}

// describeWatched is "VAR1,VAR2 (vault "v", secret "s")".
func describeWatched(w watch.Watched) string {
	return fmt.Sprintf("%s (vault %q, secret %q)", strings.Join(w.Variables, ","), w.Ref.Vault(), w.Ref.Secret)
}

// shortVersion shortens a 32-digit version for the log, as az does.
func shortVersion(v string) string {
	if len(v) > 8 {
		return v[:8]
	}
	return v
}
