package main

import (
	"context"
	"errors"
	"strings"

	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/resolve"
)

// runExec is the wrapper: resolve the identity, fetch what COMMAND needs,
// build its environment as a value, hand the identity over as --inject
// says, then run COMMAND. The child's status becomes azexec's through
// childStatus.
func runExec(ctx context.Context, io streams, g globalOptions, command []string) error {
	// Until COMMAND starts, INT, TERM, HUP and QUIT end azexec cleanly
	// (interrupt.go): the deferred cleanup of wrapCommand runs first, then the
	// signal decides the message and the status.
	ctx, intr := watchInterrupts(ctx)
	io.intr = intr
	err := wrapCommand(ctx, io, g, command, intr)
	if ierr := intr.handOff(); ierr != nil {
		var child childStatus
		if !errors.As(err, &child) {
			return ierr
		}
	}
	return err
}

// wrapCommand is runExec's work, each phase named for the interruption message.
func wrapCommand(ctx context.Context, io streams, g globalOptions, command []string, intr *interrupts) error {
	intr.setPhase("resolving the identity")
	g, err := withProfileDefaults(g) // a profile's default inject mode
	if err != nil {
		return err
	}
	if err := checkInjectMode(g); err != nil {
		return err
	}
	w, err := watchPlan(g)
	if err != nil {
		return err
	}
	if _, err := parseTokenFlags(resolve.Clouds["public"], g.Tokens); err != nil {
		return err // syntax errors before any network call
	}
	files, err := parseFileFlags(g.Files)
	if err != nil {
		return err // every template parsed before any network call
	}
	s, err := openSession(ctx, io, g, withTemplates(files.templates()), checkReferences(g), proveWithFirstToken(g.Tokens))
	if err != nil {
		return err
	}
	defer s.close()
	intr.setPhase("fetching secrets")
	before := s.env.Clone() // the references unresolved: --watch resolves again from here
	refs, err := fetchAll(ctx, s, g, needsSubscription(injectModeFor(g.Inject, s.id)))
	if err != nil {
		return err
	}
	intr.setPhase("preparing the command")
	h, err := prepareHandover(s, g)
	if err != nil {
		return err
	}
	defer h.close()
	// Files stay unsealed only under --watch-reload, which rewrites them in
	// place; a restart gets new sealed files (childFiles.renew).
	if err := files.handOver(s, h, w.reload == nil); err != nil {
		return err
	}
	defer files.close()
	subscriptionForOtherModes(s, g, h.mode)
	masker := maskRun(s, g, refs) // nil unless masking (outputmask.go)
	// --watch stays COMMAND's parent, and so does masking.
	replace := replaceProcess && !g.Supervise && !h.supervise && masker == nil && !w.on
	cmd := inject.Command{Argv: command, Stdin: io.in, Stdout: io.out, Stderr: io.errOut, ExtraFiles: h.files}
	if h.afterMode != nil {
		h.afterMode(&cmd, replace)
	}
	// In CI, the runner learns to hide what COMMAND received, should it
	// print it.
	ci := newCIMasker(s.trusted, io.errOut)
	if err := ci.mask(append(secretValues(s.env, refs, tokenVars(g.Tokens)), s.templateSecretValues()...)...); err != nil {
		return err
	}
	s.markUntrusted()
	cmd.Env = s.env.Environ()
	s.log.Debug("starting command", "command", command[0], "replace", replace, "inject", h.mode, "watch", w.on)
	if w.on {
		wt, err := newWatcher(s, g, w, before, s.env, resolution{vars: refs, files: s.templateRefs, fileSecrets: s.templateSecrets}, cmd, files)
		if err != nil {
			return err
		}
		wt.newValues = append(wt.newValues, ci.mask)
		wt.masker = masker
		return wt.run(ctx, intr.handOff)
	}
	// handOff runs just before COMMAND starts: a signal caught until then
	// stops the run; any later one is COMMAND's.
	status, err := inject.Run(ctx, cmd, inject.RunOptions{Replace: replace, Logger: s.log, BeforeStart: intr.handOff, Mask: masker})
	if err != nil {
		return err
	}
	return childStatus(status)
}

// tokenVars are the variable names of the --token flags (checked before).
func tokenVars(flags []string) []string {
	var names []string
	for _, f := range flags {
		if name, _, ok := strings.Cut(f, "="); ok {
			names = append(names, name)
		}
	}
	return names
}

// childStatus carries COMMAND's exit status through the urfave/cli app to
// run, which returns it unchanged.
type childStatus int

func (c childStatus) Error() string { return "" }
