package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
)

// helpCommand is `azexec help [COMMAND [SUBCOMMAND]]`: what most CLIs
// accept, and what people type first. It prints exactly what `azexec
// COMMAND --help` prints, by running that command line on a fresh app, so
// there is one help text per command.
func helpCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the help of azexec, or of one command (the same as COMMAND --help)",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		Action: func(c *cli.Context) error {
			path := c.Args().Slice()
			if err := checkCommandPath(c.App.Commands, path); err != nil {
				return err
			}
			argv := slices.Concat([]string{"azexec"}, path, []string{"--help"})
			return newApp(io, nil, false).RunContext(c.Context, argv)
		},
	}
}

// checkCommandPath refuses a help topic that is not a command, rather than
// printing the top-level help for a typo.
func checkCommandPath(cmds []*cli.Command, path []string) error {
	for i, name := range path {
		var found *cli.Command
		for _, c := range cmds {
			if c.HasName(name) && !c.Hidden {
				found = c
			}
		}
		if found == nil {
			topic := strings.Join(path[:i+1], " ")
			if i == 0 {
				return fail.New(fail.Usage, "no help for %q: there is no such command", topic).
					WithHint("azexec help lists the commands; a program of that name runs as azexec -- %s", shellWord(name))
			}
			return fail.New(fail.Usage, "no help for %q: there is no such command", topic).
				WithHint("azexec help %s lists its commands", shellJoin(path[:i]))
		}
		cmds = found.Subcommands
	}
	return nil
}
