package main

import (
	"context"

	"github.com/azexec/azexec/internal/inject"
)

// runExec is the wrapper: resolve the identity, build the child's
// environment as a value, then run COMMAND. The child's status becomes
// azexec's through exitStatusError.
func runExec(ctx context.Context, io streams, g globalOptions, command []string) error {
	s, err := openSession(ctx, io, g)
	if err != nil {
		return err
	}
	defer s.close()
	if set := inject.ServicePrincipalEnv(s.env, s.id); len(set) > 0 {
		s.log.Debug("identity handed to the child as variables", "variables", set)
	} else {
		s.log.Debug("child environment left as is: its own SDK finds the same identity", "source", s.id.Source)
	}
	replace := replaceProcess && !g.Supervise
	s.log.Debug("starting command", "command", command[0], "replace", replace)
	status, err := inject.Run(ctx, inject.Command{
		Argv:   command,
		Env:    s.env.Environ(),
		Stdin:  io.in,
		Stdout: io.out,
		Stderr: io.errOut,
	}, inject.RunOptions{Replace: replace, Logger: s.log})
	if err != nil {
		return err
	}
	return childStatus(status)
}

// childStatus carries COMMAND's exit status through the urfave/cli app to
// run, which returns it unchanged.
type childStatus int

func (c childStatus) Error() string { return "" }
