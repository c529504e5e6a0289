package main

import (
	"slices"

	"github.com/urfave/cli/v2"
)

// globalOptions are accepted before or after a subcommand's name, and each
// also reads an AZEXEC_* variable, so Makefiles and CI can set them once.
type globalOptions struct {
	Identity  string
	Cloud     string
	CloudSet  bool
	AuthFile  string
	ClientID  string
	EnvFiles  []string
	LogLevel  string
	LogFormat string
	Supervise bool
}

// globalFlags returns fresh flag values: urfave/cli keeps state in them, so
// the app and every subcommand need their own.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "identity", Value: "auto", EnvVars: []string{"AZEXEC_IDENTITY"},
			Usage: "identity source: auto, env, auth-file, workload, managed, cli or azd"},
		&cli.StringFlag{Name: "cloud", Value: "public", EnvVars: []string{"AZEXEC_CLOUD"},
			Usage: "Azure cloud: public, china or usgov (AZURE_AUTHORITY_HOST overrides the authority)"},
		&cli.StringFlag{Name: "auth-file", EnvVars: []string{"AZEXEC_AUTH_FILE"},
			Usage: "legacy SDK auth file (`PATH`; default AZURE_AUTH_LOCATION)"},
		&cli.StringFlag{Name: "client-id", EnvVars: []string{"AZEXEC_CLIENT_ID"},
			Usage: "client `ID` of a user-assigned managed identity"},
		&cli.StringSliceFlag{Name: "env-file", EnvVars: []string{"AZEXEC_ENV_FILE"},
			Usage: "read variables for COMMAND from `FILE` (repeatable; later wins over earlier and over the process environment)"},
		&cli.StringFlag{Name: "log-level", Value: "warn", EnvVars: []string{"AZEXEC_LOG_LEVEL"},
			Usage: "log level on stderr: trace, debug, info, warn, error, off"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"AZEXEC_LOG_FORMAT"},
			Usage: "log format: text or json"},
		&cli.BoolFlag{Name: "supervise", EnvVars: []string{"AZEXEC_SUPERVISE"},
			Usage: "keep azexec as COMMAND's parent (forwarding signals) instead of replacing itself with COMMAND"},
	}
}

// readGlobals reads the global options from the innermost context that set
// each one, so `azexec --cloud china whoami` and `azexec whoami --cloud
// china` mean the same; a repeatable flag given at both levels adds up.
func readGlobals(c *cli.Context) globalOptions {
	setAt := func(name string) *cli.Context {
		for _, x := range c.Lineage() {
			if slices.Contains(x.LocalFlagNames(), name) {
				return x
			}
		}
		return c
	}
	str := func(name string) string { return setAt(name).String(name) }
	var files []string
	lineage := c.Lineage()
	for i := len(lineage) - 1; i >= 0; i-- {
		if slices.Contains(lineage[i].LocalFlagNames(), "env-file") {
			for _, f := range lineage[i].StringSlice("env-file") {
				if !slices.Contains(files, f) {
					files = append(files, f)
				}
			}
		}
	}
	return globalOptions{
		Identity:  str("identity"),
		Cloud:     str("cloud"),
		CloudSet:  setAt("cloud").IsSet("cloud"),
		AuthFile:  str("auth-file"),
		ClientID:  str("client-id"),
		EnvFiles:  files,
		LogLevel:  str("log-level"),
		LogFormat: str("log-format"),
		Supervise: setAt("supervise").Bool("supervise"),
	}
}
