package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/atomicfile"
	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/template"
)

// injectOptions are the options of `azexec inject`.
type injectOptions struct {
	globals globalOptions
	input   string // "-" is stdin
	output  string // "" is stdout
	force   bool
}

const injectDescription = `Reads a template (-i, default stdin), replaces every placeholder, and writes the result to
stdout or, with -o, to FILE (created 0600, written to a temporary file beside it and then
renamed, so no reader sees half a file). All or nothing: every placeholder is checked before
any request (exit 2, naming FILE:LINE:COLUMN for each bad one), every secret is fetched
concurrently, and if one fails (exit 4) nothing is written.

TEMPLATE SYNTAX:
   {{ keyvault://VAULT/NAME[/VERSION] }}
   {{ @Microsoft.KeyVault(SecretUri=https://VAULT.vault.azure.net/secrets/NAME[/VERSION]) }}
   {{ @Microsoft.KeyVault(VaultName=VAULT;SecretName=NAME[;SecretVersion=VERSION]) }}
   {{ env:NAME }}       a variable of the environment COMMAND would get: the process
                        environment and --env-file, Key Vault references resolved; never
                        azexec's own secrets (the keyring passphrase, CI request tokens)
   {{ ... | json }}     a JSON string, quotes included: "Password": {{ keyvault://v/db | json }}
   {{ ... | yaml }}     a YAML double-quoted string, quotes included
   {{ ... | base64 }}   standard base64; filters apply left to right
   {{{{                 a literal {{
   Values are inserted as they are, once: without a filter, a quote or newline in a secret
   lands in the file unescaped. A template is untrusted input, like an env file: its
   references follow the same rules (an emulator only by --keyvault-emulator).

GIT: a rendered secret must not reach a repository, so -o FILE inside a git work tree is
refused unless git ignores FILE (add it to .gitignore); --force writes it anyway, with a warning.

To give a rendered file to a program without writing it anywhere, use the wrapper:
   azexec --file APPSETTINGS_PATH=appsettings.tmpl.json -- dotnet run
COMMAND reads $APPSETTINGS_PATH, a sealed in-memory file (/dev/fd/N) that vanishes with it.

EXAMPLES:
   azexec inject -i appsettings.tmpl.json -o appsettings.Development.json
   azexec --env-file .env inject < config.tmpl.yaml | kubectl apply -f -`

func injectCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:        "inject",
		Usage:       "render a template's Key Vault references and variables into a file or stdout (prints secrets)",
		UsageText:   "azexec inject [-i TEMPLATE] [-o FILE] [--force]",
		Description: injectDescription,
		Flags: commandFlags(slices.Concat(identityGlobals, referenceGlobals),
			&cli.StringFlag{Name: "in", Aliases: []string{"i"}, Value: "-", EnvVars: []string{"AZEXEC_INJECT_IN"},
				Usage: "read the template from `TEMPLATE` (- is stdin)"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, EnvVars: []string{"AZEXEC_INJECT_OUT"},
				Usage: "write to `FILE` (0600, atomically) instead of stdout; refused inside a git work tree unless git ignores it"},
			&cli.BoolFlag{Name: "force", EnvVars: []string{"AZEXEC_INJECT_FORCE"},
				Usage: "write -o FILE even inside a git work tree where git does not ignore it"}),
		Action: func(c *cli.Context) error {
			if err := noArgs(c, "azexec inject"); err != nil {
				return err
			}
			return runInject(c, io, injectOptions{globals: readGlobals(c), input: c.String("in"),
				output: c.String("out"), force: c.Bool("force")})
		},
	}
}

// runInject checks everything it can before any request (the template,
// where the output goes), resolves as the wrapper does, renders whole,
// and only then writes.
func runInject(c *cli.Context, io streams, o injectOptions) error {
	o.globals.Tokens, o.globals.Files = nil, nil // the wrapper's, for a running COMMAND
	name := o.input
	if name == "-" {
		name = "stdin"
	}
	tpl, err := readTemplate(o.input, name, io.in)
	if err != nil {
		return err
	}
	if o.output != "" {
		warning, err := checkOutputPath(o.output, o.force)
		if err != nil {
			return err
		}
		if warning != "" {
			fmt.Fprintf(io.errLog, "azexec: warning: %s\n", warning)
		}
	}
	tpls := []*template.Template{tpl}
	s, err := openSession(c.Context, io, o.globals, withTemplates(tpls), checkReferences(o.globals),
		checkTemplateEnv(tpl), skipIdentityWithoutAnyReference)
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
	out, err := s.render(tpl)
	if err != nil {
		return err
	}
	// In CI, the runner learns to hide the secrets before they are written.
	if err := newCIMasker(s.trusted, io.errOut).mask(append(secretValues(s.env, refs, nil), s.templateSecretValues()...)...); err != nil {
		return err
	}
	if o.output == "" {
		_, err = io.out.Write(out)
		return err
	}
	if err := atomicfile.Write(o.output, ".azexec-inject-*", out, 0o600); err != nil {
		return fail.New(fail.Usage, "cannot write %q", o.output).Wrap(err)
	}
	s.log.Debug("template rendered", "template", name, "output", o.output, "references", len(tpl.References()))
	return nil
}

// checkTemplateEnv is an openSession check: every {{ env:NAME }} must be
// set in the built environment, known before any request.
func checkTemplateEnv(t *template.Template) func(*session) error {
	return func(s *session) error {
		blank := make(map[providers.Reference]string)
		for _, r := range t.References() {
			blank[r] = ""
		}
		_, err := t.Render(template.Values{Env: s.env, Secrets: blank})
		if err == nil {
			return nil
		}
		return problemsError("variables not set for the template", err, envHint)
	}
}

// skipIdentityWithoutAnyReference resolves no identity when neither the
// environment nor a template holds a reference: rendering plain
// variables needs no Azure login.
func skipIdentityWithoutAnyReference(s *session) error {
	n := len(referenceNames(s.env))
	for _, t := range s.templates {
		n += len(t.References())
	}
	if n == 0 {
		s.skipIdentity = true
	}
	return nil
}
