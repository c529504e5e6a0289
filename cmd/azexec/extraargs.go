package main

import (
	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
)

// noArgs refuses arguments to a command that takes none. Ignoring them
// hid a mistake: `azexec whoami -u` or `azexec env FOO=bar` was meant as
// the program of that name, which needs -- before it.
func noArgs(c *cli.Context, usage string) error {
	if !c.Args().Present() {
		return nil
	}
	argv := append([]string{c.Command.Name}, c.Args().Slice()...)
	return fail.New(fail.Usage, "%s takes no arguments, but was given %q", usage, c.Args().First()).
		WithHint("did you mean azexec -- %s? Put -- before a program to run it", shellJoin(argv))
}

// skipIdentityWithoutReferences is an openSession check for `azexec env`:
// it prints the environment with references resolved and sets no
// identity variables, so without a reference there is nothing to resolve
// an identity for, and `azexec --env-file plain.env env` works on a
// machine with no Azure login at all.
func skipIdentityWithoutReferences(s *session) error {
	if len(referenceNames(s.env)) == 0 { // their syntax: checkReferences
		s.skipIdentity = true
	}
	return nil
}
