package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
	"github.com/azexec/azexec/internal/resolve"
)

// profileCommand is `azexec profile`: service principals kept for one
// developer, the secret in the OS keyring and the rest in a config file.
func profileCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "profile",
		Usage: "keep your own service principals in the OS keyring: add, list, show, remove, rotate",
		Description: "A profile is a service principal: tenant, client id, subscription, cloud and certificate path\n" +
			"in a config file under your config directory (safe to show and back up), and the client secret\n" +
			"or certificate password in the OS keyring (--keyring-backend; the encrypted file backend takes\n" +
			"its passphrase from a prompt or AZEXEC_KEYRING_PASSWORD). Use one with azexec --profile NAME.\n" +
			"Secrets are read from the terminal without echo, or from stdin when it is not a terminal;\n" +
			"never from argv or the environment.",
		Flags: commandFlags(keyringGlobals),
		Subcommands: []*cli.Command{
			profileAddCommand(io), profileListCommand(io), profileShowCommand(io),
			profileRemoveCommand(io), profileRotateCommand(io),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fail.New(fail.Usage, "unknown profile command %q", c.Args().First()).
					WithHint("use add, list, show, remove or rotate")
			}
			return fail.New(fail.Usage, "no profile command given").WithHint("use add, list, show, remove or rotate")
		},
	}
}

// profileSubcommands take NAME first, as in `azexec profile add NAME
// --tenant T`; see profileNameLast.
var profileSubcommands = []string{"add", "show", "remove", "rotate"}

// profileNameLast moves the NAME of `azexec profile add|show|remove|rotate
// NAME [options]` behind the options: urfave/cli stops reading options at
// the first argument, and NAME first is how the command reads best.
func profileNameLast(args []string) []string {
	valued := valuedFlags()
	i := skipOptions(args, 1, valued)
	if i >= len(args) || args[i] != "profile" {
		return args
	}
	j := skipOptions(args, i+1, valued)
	if j+1 >= len(args) || !slices.Contains(profileSubcommands, args[j]) || strings.HasPrefix(args[j+1], "-") {
		return args
	}
	return slices.Concat(args[:j+1], args[j+2:], []string{args[j+1]})
}

// skipOptions returns the index of the first argument at or after i that
// is not an option or an option's value.
func skipOptions(args []string, i int, valued map[string]bool) int {
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" {
		name := strings.TrimLeft(args[i], "-")
		if !strings.Contains(name, "=") && valued[name] {
			i++
		}
		i++
	}
	return i
}

// valuedFlags names the global options that take a value.
func valuedFlags() map[string]bool {
	m := map[string]bool{}
	for _, f := range globalFlags() {
		if d, ok := f.(cli.DocGenerationFlag); !ok || !d.TakesValue() {
			continue // a switch (--arm, --watch without a value)
		}
		for _, n := range f.Names() {
			m[n] = true
		}
	}
	return m
}

// oneName returns the single NAME argument of a profile subcommand.
func oneName(c *cli.Context) (string, error) {
	cmd := "azexec profile " + c.Command.Name
	switch c.NArg() {
	case 0:
		return "", fail.New(fail.Usage, "no profile name given").WithHint("%s NAME", cmd)
	case 1:
		name := c.Args().First()
		return name, profile.CheckName(name)
	}
	return "", fail.New(fail.Usage, "unexpected argument %q", c.Args().Get(1)).
		WithHint("%s NAME, with options before or after NAME", cmd)
}

// profileAddOptions are `azexec profile add`'s.
type profileAddOptions struct {
	globals  globalOptions
	profile  profile.Profile
	noVerify bool
}

func profileAddCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "store a service principal as profile NAME",
		ArgsUsage: "NAME --tenant T --client-id C [--subscription S] [--cloud C] [--certificate PATH]",
		Description: "Reads the client secret (or, with --certificate, the certificate's password) from the terminal\n" +
			"without echo, or from stdin when it is not a terminal, and stores it in the keyring; the other\n" +
			"fields go to the config file. Either both are stored or neither. The secret is proven first by\n" +
			"acquiring a token with it: a wrong one is refused with Entra's error and nothing is stored\n" +
			"(--no-verify skips that, for use offline).\n\n" +
			"EXAMPLE:\n" +
			"   az ad sp create-for-rbac --name \"$USER-dev\" --query password -o tsv |\n" +
			"     azexec profile add dev --tenant TENANT --client-id APP_ID --subscription SUB",
		// --client-id and --subscription mean the profile's own here, and
		// must not pick up AZEXEC_CLIENT_ID or AZEXEC_SUBSCRIPTION.
		Flags: commandFlags([]string{"cloud", "keyring-backend", "timeout"},
			&cli.StringFlag{Name: "tenant", Usage: "tenant `ID` (or domain) of the service principal"},
			&cli.StringFlag{Name: "client-id", Usage: "application (client) `ID` of the service principal"},
			&cli.StringFlag{Name: "subscription", Usage: "default subscription `ID` for COMMAND"},
			&cli.StringFlag{Name: "certificate", Usage: "authenticate with the certificate at `PATH` (PEM or PKCS#12) instead of a secret"},
			&cli.StringFlag{Name: "default-inject", Usage: "inject `MODE` used with this profile when --inject is not given"},
			&cli.StringSliceFlag{Name: "default-env-file", Usage: "env `FILE` read with this profile when --env-file is not given (repeatable; stored as an absolute path)"},
			&cli.BoolFlag{Name: "no-verify", Usage: "store without first acquiring a token to prove the secret (offline)"},
		),
		Action: func(c *cli.Context) error {
			o, err := readProfileAddOptions(c)
			if err != nil {
				return err
			}
			return runProfileAdd(c.Context, io, o)
		},
	}
}

var (
	guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// tenantPattern is ^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$ as a function: the
	// bounded repetition compiled at start cost every run about 1 ms.
	tenantPattern = matchFunc(func(s string) bool {
		if len(s) == 0 || len(s) > 253 || !isAlnumByte(s[0]) {
			return false
		}
		for i := 1; i < len(s); i++ {
			if !isAlnumByte(s[i]) && s[i] != '.' && s[i] != '-' {
				return false
			}
		}
		return true
	})
)

// readProfileAddOptions checks everything on the command line before the
// secret is read, so that a typo does not swallow a piped secret.
func readProfileAddOptions(c *cli.Context) (profileAddOptions, error) {
	g := readGlobals(c)
	name, err := oneName(c)
	if err != nil {
		return profileAddOptions{}, err
	}
	p := profile.Profile{Name: name, TenantID: c.String("tenant"), ClientID: c.String("client-id"),
		Subscription: c.String("subscription"), Inject: c.String("default-inject"),
		EnvFiles: c.StringSlice("default-env-file")}
	if err := checkProfileIDs(p); err != nil {
		return profileAddOptions{}, err
	}
	cloud, err := resolve.LookupCloud(g.Cloud)
	if err != nil {
		return profileAddOptions{}, err
	}
	p.Cloud = cloud.Name
	if p.Inject != "" {
		if err := checkInjectMode(globalOptions{Inject: p.Inject}); err != nil {
			return profileAddOptions{}, err
		}
	}
	// Default env files are stored absolute: a relative path would be
	// read from whatever directory azexec later runs in (an untrusted
	// clone, where git runs azexec as its credential helper).
	for i, f := range p.EnvFiles {
		if f == "" {
			return profileAddOptions{}, fail.New(fail.Usage, "empty --default-env-file").WithHint("name an env file")
		}
		if p.EnvFiles[i], err = filepath.Abs(f); err != nil {
			return profileAddOptions{}, fail.New(fail.Usage, "env file path %q: %s", f, err)
		}
	}
	if cert := c.String("certificate"); cert != "" {
		if p.CertificatePath, err = filepath.Abs(cert); err != nil {
			return profileAddOptions{}, fail.New(fail.Usage, "certificate path %q: %s", cert, err)
		}
	}
	return profileAddOptions{globals: g, profile: p, noVerify: c.Bool("no-verify")}, nil
}

// checkProfileIDs refuses a missing or malformed tenant, client id or
// subscription before anything is stored.
func checkProfileIDs(p profile.Profile) error {
	usage := "azexec profile add " + p.Name + " --tenant TENANT --client-id CLIENT_ID"
	switch {
	case p.TenantID == "":
		return fail.New(fail.Usage, "no --tenant given").WithHint("%s", usage)
	case !tenantPattern.MatchString(p.TenantID):
		return fail.New(fail.Usage, "invalid tenant %q", p.TenantID).
			WithHint("a tenant is a GUID or a domain such as contoso.onmicrosoft.com")
	case p.ClientID == "":
		return fail.New(fail.Usage, "no --client-id given").WithHint("%s", usage)
	case !guidPattern.MatchString(p.ClientID):
		return fail.New(fail.Usage, "invalid client id %q", p.ClientID).
			WithHint("the client id is the application's GUID (appId in az ad sp create-for-rbac's output)")
	case p.Subscription != "" && !guidPattern.MatchString(p.Subscription):
		return fail.New(fail.Usage, "invalid subscription %q", p.Subscription).
			WithHint("a subscription id is a GUID (az account list -o table)")
	}
	return nil
}

func runProfileAdd(ctx context.Context, io streams, o profileAddOptions) error {
	store, err := newStore(io, o.globals, io.errLog.Add)
	if err != nil {
		return err
	}
	if _, err := store.Get(o.profile.Name); err == nil {
		return fail.New(fail.Usage, "profile %q already exists", o.profile.Name).
			WithHint("replace its secret with azexec profile rotate %s, or remove it first with azexec profile remove %s", o.profile.Name, o.profile.Name)
	}
	p := o.profile
	secret, err := readProfileSecret(io, p)
	if err != nil {
		return err
	}
	if !o.noVerify {
		if err := verifyProfile(ctx, p, secret, o.globals.Timeout); err != nil {
			return err
		}
	}
	if p, err = store.Add(p, secret); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "profile %q added: %s in the %s keyring, settings in %s\n", p.Name, p.SecretKind(), p.Backend, store.ConfigPath())
	fmt.Fprintf(io.out, "try it: azexec --profile %s whoami\n", p.Name)
	return nil
}

// readProfileSecret reads the secret for p and, for a certificate, checks
// that the password opens it, so that a wrong one is refused now rather
// than at first use.
func readProfileSecret(io streams, p profile.Profile) (profile.Secret, error) {
	what := "client secret of profile " + p.Name
	if p.CertificatePath != "" {
		what = "password of " + p.CertificatePath + " (empty if none)"
	}
	secret, err := readSecret(io, what, p.CertificatePath != "")
	if err != nil {
		return "", err
	}
	// Should Entra echo the proof request in an error, the scrubber masks
	// it.
	io.errLog.Add(secret.Reveal())
	if p.CertificatePath == "" {
		return secret, nil
	}
	data, err := os.ReadFile(p.CertificatePath)
	if err != nil {
		return "", fail.New(fail.Usage, "cannot read certificate %q: %s", p.CertificatePath, errorText(err)).
			WithHint("--certificate must name a PEM or PKCS#12 file holding the certificate and its private key")
	}
	if _, _, err := azidentity.ParseCertificates(data, []byte(secret.Reveal())); err != nil {
		return "", fail.New(fail.Usage, "cannot open certificate %q with the password given", p.CertificatePath).
			WithHint("the file must be PEM (certificate and unencrypted key) or PKCS#12, and the password its own")
	}
	return secret, nil
}

// errorText is an error's text without the path of an *os.PathError.
func errorText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// profileView is a profile as list and show print it: never a secret.
type profileView struct {
	Name         string   `json:"name"`
	TenantID     string   `json:"tenantId"`
	ClientID     string   `json:"clientId"`
	Subscription string   `json:"subscriptionId,omitempty"`
	Cloud        string   `json:"cloud"`
	Certificate  string   `json:"certificate,omitempty"`
	Keyring      string   `json:"keyring"`
	Secret       string   `json:"secretStatus,omitempty"` // present, missing or unchecked: never the value
	Inject       string   `json:"inject,omitempty"`
	EnvFiles     []string `json:"envFiles,omitempty"`
}

func viewOf(p profile.Profile, backend string) profileView {
	cloud := p.Cloud
	if cloud == "" {
		cloud = "public"
	}
	return profileView{Name: p.Name, TenantID: p.TenantID, ClientID: p.ClientID, Subscription: p.Subscription,
		Cloud: cloud, Certificate: p.CertificatePath, Keyring: backend, Inject: p.Inject, EnvFiles: p.EnvFiles}
}

// profileListOptions are `azexec profile list`'s.
type profileListOptions struct {
	globals globalOptions
	json    bool
}

func profileListCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:        "list",
		Usage:       "list the profiles: name, tenant, client id, subscription, cloud and keyring (never a secret)",
		Description: "Reads only the config file: listing never unlocks a keyring.",
		Flags:       commandFlags(keyringGlobals, &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fail.New(fail.Usage, "unexpected argument %q", c.Args().First()).WithHint("azexec profile list [--json]")
			}
			return runProfileList(io, profileListOptions{globals: readGlobals(c), json: c.Bool("json")})
		},
	}
}

func runProfileList(io streams, o profileListOptions) error {
	store, err := newStore(io, o.globals, io.errLog.Add)
	if err != nil {
		return err
	}
	ps, err := store.List()
	if err != nil {
		return err
	}
	views := []profileView{}
	for _, p := range ps {
		views = append(views, viewOf(p, store.BackendFor(p)))
	}
	if o.json {
		return writeJSON(io.out, views)
	}
	if len(views) == 0 {
		fmt.Fprintf(io.errOut, "azexec: no profiles in %s; add one with azexec profile add NAME --tenant T --client-id C\n", store.ConfigPath())
		return nil
	}
	fmt.Fprintf(io.out, "%-16s %-36s  %-36s  %-36s  %-6s %s\n", "NAME", "TENANT", "CLIENT ID", "SUBSCRIPTION", "CLOUD", "KEYRING")
	for _, v := range views {
		sub := v.Subscription
		if sub == "" {
			sub = "-"
		}
		fmt.Fprintf(io.out, "%-16s %-36s  %-36s  %-36s  %-6s %s\n", v.Name, v.TenantID, v.ClientID, sub, v.Cloud, v.Keyring)
	}
	return nil
}

// profileNameOptions are the options of the subcommands that act on one
// profile by name.
type profileNameOptions struct {
	globals globalOptions
	name    string
	json    bool
}

func readProfileNameOptions(c *cli.Context) (profileNameOptions, error) {
	name, err := oneName(c)
	return profileNameOptions{globals: readGlobals(c), name: name, json: c.Bool("json")}, err
}

func profileShowCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:        "show",
		Usage:       "show one profile's settings and where its secret is kept (never the secret)",
		ArgsUsage:   "NAME",
		Description: "Says whether the keyring still holds the secret when the backend can tell without unlocking.",
		Flags:       commandFlags(keyringGlobals, &cli.BoolFlag{Name: "json", Usage: "print JSON"}),
		Action: func(c *cli.Context) error {
			o, err := readProfileNameOptions(c)
			if err != nil {
				return err
			}
			return runProfileShow(io, o)
		},
	}
}

func runProfileShow(io streams, o profileNameOptions) error {
	store, err := newStore(io, o.globals, io.errLog.Add)
	if err != nil {
		return err
	}
	p, err := store.Get(o.name)
	if err != nil {
		return err
	}
	v := viewOf(p, store.BackendFor(p))
	switch present, known := store.SecretPresent(p); {
	case !known:
		v.Secret = "unchecked"
	case present:
		v.Secret = "present"
	default:
		v.Secret = "missing"
	}
	if o.json {
		return writeJSON(io.out, v)
	}
	printProfile(io, v, store.ConfigPath())
	return nil
}

func printProfile(io streams, v profileView, config string) {
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(io.out, "%-15s%s\n", k+":", val)
		}
	}
	kind := "client secret"
	if v.Certificate != "" {
		kind = "certificate password"
	}
	secret := map[string]string{
		"present":   kind + " in the " + v.Keyring + " keyring (not shown)",
		"missing":   kind + " MISSING from the " + v.Keyring + " keyring: azexec profile rotate " + v.Name,
		"unchecked": kind + " in the " + v.Keyring + " keyring (not checked: that needs unlocking)",
	}[v.Secret]
	row("name", v.Name)
	row("tenant", v.TenantID)
	row("client id", v.ClientID)
	row("subscription", v.Subscription)
	row("cloud", v.Cloud)
	row("certificate", v.Certificate)
	row("secret", secret)
	row("inject", v.Inject)
	row("env files", strings.Join(v.EnvFiles, ", "))
	row("config", config)
}

func profileRemoveCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:        "remove",
		Usage:       "remove a profile: its secret from the keyring, its entry from the config file, its cached tokens",
		ArgsUsage:   "NAME",
		Description: "All or nothing: if the keyring cannot be reached or refuses, nothing is removed.",
		Flags:       commandFlags(keyringGlobals),
		Action: func(c *cli.Context) error {
			o, err := readProfileNameOptions(c)
			if err != nil {
				return err
			}
			return runProfileRemove(io, o)
		},
	}
}

func runProfileRemove(io streams, o profileNameOptions) error {
	store, err := newStore(io, o.globals, io.errLog.Add)
	if err != nil {
		return err
	}
	r, err := store.Remove(o.name)
	if err != nil {
		return err
	}
	p := r.Profile
	backend := store.BackendFor(p)
	if r.SecretMissing {
		fmt.Fprintf(io.errOut, "azexec: warning: the %s of profile %q was already gone from the %s keyring\n", p.SecretKind(), p.Name, backend)
	}
	fmt.Fprintf(io.out, "profile %q removed: %s deleted from the %s keyring, entry deleted from %s, %d cached token(s) deleted\n",
		p.Name, p.SecretKind(), backend, store.ConfigPath(), r.Tokens)
	return nil
}

func profileRotateCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "rotate",
		Usage:     "replace a profile's secret in place (read like add's) and drop its cached tokens",
		ArgsUsage: "NAME",
		Description: "EXAMPLE:\n" +
			"   az ad app credential reset --id APP_ID --query password -o tsv | azexec profile rotate dev",
		Flags: commandFlags(keyringGlobals),
		Action: func(c *cli.Context) error {
			o, err := readProfileNameOptions(c)
			if err != nil {
				return err
			}
			return runProfileRotate(io, o)
		},
	}
}

func runProfileRotate(io streams, o profileNameOptions) error {
	store, err := newStore(io, o.globals, io.errLog.Add)
	if err != nil {
		return err
	}
	p, err := store.Get(o.name)
	if err != nil {
		return err
	}
	secret, err := readProfileSecret(io, p)
	if err != nil {
		return err
	}
	if p, err = store.RotateProfile(p, secret); err != nil {
		return err
	}
	fmt.Fprintf(io.out, "profile %q: new %s stored in the %s keyring; its cached tokens were dropped\n", p.Name, p.SecretKind(), store.BackendFor(p))
	fmt.Fprintf(io.out, "check it: azexec --profile %s whoami\n", p.Name)
	return nil
}

// matchFunc gives a predicate regexp's MatchString method.
type matchFunc func(string) bool

func (f matchFunc) MatchString(s string) bool { return f(s) }

func isAlnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
