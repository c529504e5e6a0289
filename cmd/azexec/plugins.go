package main

import (
	"path/filepath"
	"slices"
	"strings"
)

// pluginNames maps the names tools run azexec by to its subcommands: git
// runs `git-credential-azexec get` for `helper = azexec`, docker runs
// `docker-credential-azexec get` for `"credHelpers": {...: "azexec"}`. A
// symbolic link (or, on Windows, a copy) of the binary under that name is
// all the set-up a tool needs.
var pluginNames = map[string]string{
	"git-credential-azexec":    "git-credential",
	"docker-credential-azexec": "docker-credential",
}

// pluginArgs rewrites a plugin invocation (argv[0] is one of pluginNames,
// with or without a directory and ".exe") into the subcommand's, so that
// `git-credential-azexec get` runs as `azexec git-credential get`. Any
// other invocation is returned unchanged.
func pluginArgs(args []string) []string {
	if len(args) == 0 {
		return args
	}
	name := strings.ToLower(filepath.Base(args[0]))
	name = strings.TrimSuffix(name, ".exe")
	sub, ok := pluginNames[name]
	if !ok {
		return args
	}
	return slices.Concat([]string{args[0], sub}, args[1:])
}
