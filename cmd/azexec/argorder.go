package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// optionsFirst lets the options of `azexec token` follow its ALIAS, as in
// `azexec token arm --format json`: urfave/cli stops reading options at
// the first argument, and reading them anywhere is what the README and
// most CLIs promise. It moves the options of the token command (and their
// values) before its arguments; any other command line is returned as is.
func optionsFirst(args []string) []string {
	i := skipOptions(args, 1, valuedFlags())
	if i >= len(args) || args[i] != "token" {
		return args
	}
	valued := valuedFlagsOf(tokenCommand(streams{}).Flags)
	var opts, rest []string
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		if !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, a)
			continue
		}
		opts = append(opts, a)
		if name := strings.TrimLeft(a, "-"); !strings.Contains(name, "=") && valued[name] && j+1 < len(args) {
			opts = append(opts, args[j+1])
			j++
		}
	}
	return slices.Concat(args[:i+1], opts, rest)
}

// valuedFlagsOf names the flags of fs that take a value.
func valuedFlagsOf(fs []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		if d, ok := f.(cli.DocGenerationFlag); ok && d.TakesValue() {
			for _, n := range f.Names() {
				m[n] = true
			}
		}
	}
	return m
}
