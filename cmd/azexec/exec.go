package main

import (
	"context"
	"strings"

	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/resolve"
)

// runExec is the wrapper: resolve the identity, fetch what COMMAND needs,
// build its environment as a value, hand the identity over as --inject
// says, then run COMMAND. The child's status becomes azexec's through
// childStatus.
func runExec(ctx context.Context, io streams, g globalOptions, command []string) error {
	g, err := withProfileDefaults(g) // a profile's default inject mode
	if err != nil {
		return err
	}
	if err := checkInjectMode(g); err != nil {
		return err
	}
	if _, err := parseTokenFlags(resolve.Clouds["public"], g.Tokens); err != nil {
		return err // syntax errors before any network call
	}
	s, err := openSession(ctx, io, g, checkReferences(g))
	if err != nil {
		return err
	}
	defer s.close()
	refs, err := fetchAll(ctx, s, g, needsSubscription(injectModeFor(g.Inject, s.id)))
	if err != nil {
		return err
	}
	h, err := prepareHandover(s, g)
	if err != nil {
		return err
	}
	defer h.close()
	replace := replaceProcess && !g.Supervise && !h.supervise
	cmd := inject.Command{Argv: command, Stdin: io.in, Stdout: io.out, Stderr: io.errOut, ExtraFiles: h.files}
	if h.afterMode != nil {
		h.afterMode(&cmd, replace)
	}
	// In CI, the runner learns to hide what COMMAND received, should it
	// print it.
	if err := newCIMasker(s.trusted, io.errOut).mask(secretValues(s.env, refs, tokenVars(g.Tokens))...); err != nil {
		return err
	}
	cmd.Env = s.env.Environ()
	s.log.Debug("starting command", "command", command[0], "replace", replace, "inject", h.mode)
	status, err := inject.Run(ctx, cmd, inject.RunOptions{Replace: replace, Logger: s.log})
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
