package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
)

// envOptions are the options of `azexec env`.
type envOptions struct {
	globals globalOptions
	format  string
	all     bool
}

// envFormats are the output formats of `azexec env`, in help order.
var envFormats = []string{"dotenv", "shell", "json"}

func envCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "env",
		Usage: "print the variables azexec would set, with Key Vault references resolved (prints secrets)",
		Description: "Builds the environment exactly as `azexec -- COMMAND` would (process environment, then each\n" +
			"--env-file, then every Key Vault reference resolved) and prints the variables that differ from\n" +
			"azexec's own environment: those from env files and those resolved. With --all, the whole\n" +
			"environment. This is the one command that prints secret values: you asked for them.\n" +
			"Without a Key Vault reference it resolves no identity, so it works with no Azure login.\n\n" +
			"Formats: dotenv (azexec --env-file, docker compose; docker run --env-file for plain values),\n" +
			"shell (export NAME='value', for eval), json (an object of names to values, for CI systems).\n\n" +
			"KEY VAULT REFERENCES (in the process environment or an env file):\n" +
			"   @Microsoft.KeyVault(SecretUri=https://VAULT.vault.azure.net/secrets/NAME[/VERSION])\n" +
			"   @Microsoft.KeyVault(VaultName=VAULT;SecretName=NAME[;SecretVersion=VERSION])\n" +
			"   keyvault://VAULT/NAME[/VERSION]\n" +
			"   VAULT takes the DNS suffix of --cloud; an emulator (localhost or 127.0.0.1 with a port) only\n" +
			"   when --keyvault-emulator HOST:PORT names it, and it gets Key Vault tokens only.\n" +
			"   Fetched --concurrency at a time within --timeout, all or nothing; a failure exits 4.\n\n" +
			"--file VAR=TEMPLATE and --token VAR=SCOPE are not printed: they belong to a running COMMAND.\n" +
			"A --file gives COMMAND VAR=/dev/fd/N, a sealed in-memory file holding the rendered template;\n" +
			"azexec inject -i TEMPLATE prints what that file would hold.",
		Flags: commandFlags(slices.Concat(identityGlobals, referenceGlobals),
			&cli.StringFlag{Name: "format", Value: "dotenv", Usage: "output format: dotenv, shell or json"},
			&cli.BoolFlag{Name: "all", Usage: "print the whole environment, not only what azexec sets or resolves"}),
		Action: func(c *cli.Context) error {
			if err := noArgs(c, "azexec env"); err != nil {
				return err
			}
			return runEnv(c, io, envOptions{globals: readGlobals(c), format: c.String("format"), all: c.Bool("all")})
		},
	}
}

// runEnv resolves as the wrapper does, then prints instead of running.
// The output is built whole before it is written, so a value that cannot
// be written in the chosen format leaves nothing half printed.
func runEnv(c *cli.Context, io streams, o envOptions) error {
	if !slices.Contains(envFormats, o.format) {
		return fail.New(fail.Usage, "unknown format %q", o.format).WithHint("use one of: %s", strings.Join(envFormats, ", "))
	}
	// --token values are bearer tokens for a running COMMAND: printing
	// them would put them in a file or a CI log.
	o.globals.Tokens = nil
	s, err := openSession(c.Context, io, o.globals, checkReferences(o.globals), skipIdentityWithoutReferences)
	if err != nil {
		return err
	}
	defer s.close()
	var refs []resolvedRef
	if s.id != nil {
		if refs, err = fetchAll(c.Context, s, o.globals, false); err != nil {
			return err
		}
	}
	vars := envToPrint(s.env, refs, o.all)
	var out bytes.Buffer
	skipped, err := formatEnv(&out, o.format, vars)
	if err != nil {
		return err
	}
	for _, name := range skipped {
		fmt.Fprintf(io.errOut, "azexec: warning: %q is not a valid %s variable name; left out\n", name, o.format)
	}
	// In CI, the runner learns to hide the secrets before they are printed.
	if err := newCIMasker(s.trusted, io.errOut).mask(secretValues(s.env, refs, nil)...); err != nil {
		return err
	}
	s.log.Debug("environment printed", "format", o.format, "variables", len(vars)-len(skipped))
	_, err = io.out.Write(out.Bytes())
	return err
}

// envVar is one variable to print.
type envVar struct{ name, value string }

// envToPrint selects the variables: with all, every one; otherwise those
// azexec sets (from env files, or set by azexec itself) and those it
// resolved, whatever their origin. Sorted by name.
func envToPrint(env *inject.Env, refs []resolvedRef, all bool) []envVar {
	resolved := make(map[string]bool, len(refs))
	for _, r := range refs {
		resolved[r.Variable] = true
	}
	var vars []envVar
	for _, k := range env.Keys() {
		if all || resolved[k] || env.Origin(k).Kind != inject.OriginProcess {
			v, _ := env.Get(k)
			vars = append(vars, envVar{k, v})
		}
	}
	return vars
}
