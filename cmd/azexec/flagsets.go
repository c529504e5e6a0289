package main

import (
	"slices"

	"github.com/urfave/cli/v2"
)

// This file decides which global options each subcommand's help shows.
// Every global option is still accepted after a subcommand's name (scripts
// and AZEXEC_* variables keep working), but a help page that repeats all of
// them, the wrapper's --inject or --token on `whoami --help` included, hides
// the few that matter. So a subcommand lists its own options first and the
// global ones that change what it does under one heading; the rest are
// hidden there, and `azexec --help` still lists them all.

// globalCategory is the heading of the global options in a subcommand's help.
const globalCategory = "GLOBAL OPTIONS (also accepted before the command name):"

// Global options by what they matter to.
var (
	// identityGlobals shape which identity is resolved, how long the
	// sign-in may take and how azexec logs.
	identityGlobals = []string{"identity", "cloud", "auth-file", "client-id", "env-file",
		"log-level", "log-format", "profile", "keyring-backend", "no-cache", "timeout"}
	// referenceGlobals shape the Key Vault reference fetch.
	referenceGlobals = []string{"concurrency", "keyvault-emulator"}
	// keyringGlobals matter to commands that only manage the keyring.
	keyringGlobals = []string{"keyring-backend"}
)

// commandFlags returns a subcommand's flags: own first, then every global
// option, those named in relevant under globalCategory and the others
// hidden. Global options that own redefines are left out.
func commandFlags(relevant []string, own ...cli.Flag) []cli.Flag {
	out := slices.Clone(own)
	for _, f := range globalFlags() {
		if slices.ContainsFunc(own, func(o cli.Flag) bool { return o.Names()[0] == f.Names()[0] }) {
			continue
		}
		out = append(out, groupFlag(f, !slices.Contains(relevant, f.Names()[0])))
	}
	return out
}

// groupFlag puts a global option under globalCategory, or hides it.
func groupFlag(f cli.Flag, hidden bool) cli.Flag {
	switch f := f.(type) {
	case *cli.StringFlag:
		f.Category, f.Hidden = globalCategory, hidden
	case *cli.StringSliceFlag:
		f.Category, f.Hidden = globalCategory, hidden
	case *cli.BoolFlag:
		f.Category, f.Hidden = globalCategory, hidden
	case *cli.IntFlag:
		f.Category, f.Hidden = globalCategory, hidden
	case *cli.DurationFlag:
		f.Category, f.Hidden = globalCategory, hidden
	case watchFlag:
		f.Category, f.Hidden = globalCategory, hidden
	}
	return f
}

// groupFlags puts every flag of fs under globalCategory: for the commands
// built on identityFlags, which refuse the wrapper's options outright.
func groupFlags(fs []cli.Flag) []cli.Flag {
	for _, f := range fs {
		groupFlag(f, false)
	}
	return fs
}
