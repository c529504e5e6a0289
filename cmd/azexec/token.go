package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/resolve"
)

// tokenOptions are `azexec token`'s: what to get a token for, and the
// shape to print it in.
type tokenOptions struct {
	globals globalOptions
	// target is the one scope, resource or alias given, and flag the way it
	// was given ("--scope", "--resource" or "ALIAS"), for messages.
	target, flag string
	tenant       string
	format       string
	// execInfo is KUBERNETES_EXEC_INFO, which kubectl sets for the plugin.
	execInfo string
}

// The output formats of `azexec token`.
const (
	formatToken          = "token"
	formatJSON           = "json"
	formatExecCredential = "exec-credential"
)

func tokenCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "token",
		Usage:     "print an access token: bare, as az prints it, or as a kubectl ExecCredential",
		ArgsUsage: "(--scope S | --resource R | ALIAS)",
		Description: "Resolves the identity as `azexec -- COMMAND` would, gets an access token for one\n" +
			"scope and prints it, and nothing else, on stdout:\n" +
			"   --format token            the bare token (the default)\n" +
			"   --format json             what `az account get-access-token -o json` prints\n" +
			"   --format exec-credential  a client.authentication.k8s.io ExecCredential for kubectl;\n" +
			"                             the version follows KUBERNETES_EXEC_INFO (v1beta1 without it)\n" +
			"On failure it prints nothing on stdout and exits 3 (no identity) or 4 (no token).\n\n" +
			"ALIASES (for the public cloud; --cloud changes them):\n" + providers.AliasHelp(resolve.Clouds["public"]) + "\n" +
			"EXAMPLES:\n" +
			"   azexec token arm\n" +
			"   azexec token --format json --resource https://ossrdbms-aad.database.windows.net\n" +
			"   azexec token --resource aks --format exec-credential   (kubectl exec plugin, see examples/)",
		Flags: append(groupFlags(identityFlags()),
			&cli.StringFlag{Name: "scope", Usage: "OAuth `SCOPE`, e.g. https://vault.azure.net/.default"},
			&cli.StringFlag{Name: "resource", Usage: "`RESOURCE` (URL or application id) or alias, as az's --resource"},
			&cli.StringFlag{Name: "tenant", Usage: "get the token in `TENANT` instead of the identity's own (see AZURE_ADDITIONALLY_ALLOWED_TENANTS)"},
			&cli.StringFlag{Name: "format", Value: formatToken, Usage: "output: token, json or exec-credential"},
		),
		Action: func(c *cli.Context) error {
			o, err := readTokenOptions(c)
			if err != nil {
				return err
			}
			return runToken(c, io, o)
		},
	}
}

// readTokenOptions checks the command line before anything is resolved, so
// that a typo costs no token request and exits 2.
func readTokenOptions(c *cli.Context) (tokenOptions, error) {
	o := tokenOptions{globals: readGlobals(c), tenant: c.String("tenant"), format: c.String("format")}
	given := 0
	if c.IsSet("scope") {
		o.target, o.flag = c.String("scope"), "--scope"
		given++
	}
	if c.IsSet("resource") {
		o.target, o.flag = c.String("resource"), "--resource"
		given++
	}
	args := c.Args().Slice()
	if len(args) > 1 {
		if strings.HasPrefix(args[1], "-") {
			return o, fail.New(fail.Usage, "option %q after the alias", args[1]).
				WithHint("put options before the alias: azexec token %s %s", strings.Join(args[1:], " "), args[0])
		}
		return o, fail.New(fail.Usage, "more than one scope given").WithHint("ask for one scope at a time")
	}
	if len(args) == 1 {
		o.target, o.flag = args[0], "ALIAS"
		given++
	}
	switch {
	case given == 0:
		return o, fail.New(fail.Usage, "no scope given").
			WithHint("azexec token (--scope S | --resource R | ALIAS); aliases: %s", strings.Join(providers.AliasNames(), ", "))
	case given > 1:
		return o, fail.New(fail.Usage, "give one of --scope, --resource or ALIAS").
			WithHint("azexec token (--scope S | --resource R | ALIAS)")
	}
	switch o.format {
	case formatToken, formatJSON:
	case formatExecCredential:
		o.execInfo = os.Getenv("KUBERNETES_EXEC_INFO")
		if _, err := providers.ExecAPIVersion(o.execInfo); err != nil {
			return o, err
		}
	default:
		return o, fail.New(fail.Usage, "unknown format %q", o.format).WithHint("use token, json or exec-credential")
	}
	// Check the scope's syntax now; it is built again for the identity's
	// cloud, which an auth file may change.
	if cloud, err := resolve.LookupCloud(o.globals.Cloud); err == nil {
		if _, err := providers.Scope(cloud, o.target); err != nil {
			return o, err
		}
	}
	return o, nil
}

// runToken resolves the identity, gets the token and prints it in the
// chosen format. stdout receives nothing unless everything succeeded, so a
// caller that captures it ($(azexec token ...), kubectl) never mistakes an
// error for a token.
func runToken(c *cli.Context, io streams, o tokenOptions) error {
	if o.tenant == "" {
		o.globals.ProofScope = o.target
	}
	s, err := openSession(c.Context, io, o.globals)
	if err != nil {
		return err
	}
	defer s.close()
	scope, err := providers.Scope(s.id.Cloud, o.target)
	if err != nil {
		return err
	}
	s.log.Debug("getting a token", "scope", scope, "tenant", o.tenant, "format", o.format)
	ctx, cancel := s.withTimeout(c.Context)
	defer cancel()
	tok, err := providers.Token(ctx, s.id, scope, o.tenant)
	if err != nil {
		return err
	}
	s.scrub.Add(tok.Token)
	// In CI, the runner learns to hide the token before it is printed.
	if err := newCIMasker(s.trusted, io.errOut).mask(tok.Token); err != nil {
		return err
	}
	var out any
	switch o.format {
	case formatToken:
		_, err := io.out.Write([]byte(tok.Token + "\n"))
		return err
	case formatJSON:
		tenant := o.tenant
		if tenant == "" {
			tenant = s.id.TenantID
		}
		out = providers.NewAZToken(tok, tenant, s.id.Subscription)
	case formatExecCredential:
		version, err := providers.ExecAPIVersion(o.execInfo)
		if err != nil {
			return err
		}
		out = providers.NewExecCredential(version, tok)
	}
	return writeJSON(io.out, out)
}

// writeJSON prints v as az does: indented by two spaces, with no HTML
// escaping, in one write so that a reader sees all of it or nothing.
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
