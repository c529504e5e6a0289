package main

import (
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/providers"
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
	// Mask, MaskSet and NoMask are --mask (or AZEXEC_MASK) and --no-mask;
	// maskWanted (outputmask.go) decides.
	Mask, MaskSet, NoMask bool
	// ProofScope is not a flag: a command that needs one token sets it,
	// so that the token proving the identity is the one it prints (one
	// request, one az run, instead of two).
	ProofScope string

	// Key Vault references (see references.go).
	Concurrency int
	Timeout     time.Duration
	// KeyVaultEmulators are the HOST:PORTs of loopback vaults the user
	// consented to; a reference cannot make a vault an emulator.
	KeyVaultEmulators []string

	// What the child receives (see handover.go).
	Inject       string
	ARM          bool
	Tokens       []string // VAR=SCOPE
	Files        []string // VAR=TEMPLATE (see templates.go)
	AllowScopes  []string
	Subscription string

	// Profiles and the keyring (see keyring.go, profile.go, cache.go).
	Profile        string
	KeyringBackend string
	NoCache        bool
	InjectSet      bool // --inject or AZEXEC_INJECT given: a profile's default does not apply

	// --watch (watchflags.go, watch.go): Watch is the flag as given,
	// WatchExtras the other watch options set, which need it.
	Watch       watchSetting
	WatchSignal string
	WatchGrace  time.Duration
	WatchReload string
	WatchExtras []string

	// ServiceConnection is the Azure Pipelines service connection id
	// (the pipelines source).
	ServiceConnection string
	// endpoint is where the identity endpoint listens and what it tells
	// clients, when serve decided it; nil for --inject endpoint, which
	// listens on a free loopback port.
	endpoint *endpointPlace
	// profileApplied is set once withProfileDefaults has read the
	// profile's defaults, so that the wrapper and its session read the
	// config file once between them.
	profileApplied bool
}

// globalFlags returns fresh flag values: urfave/cli keeps state in them, so
// the app and every subcommand need their own.
func globalFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "identity", Value: "auto", EnvVars: []string{"AZEXEC_IDENTITY"},
			Usage: "identity source: auto, env, auth-file, workload, github, pipelines, managed, cli or azd"},
		&cli.StringFlag{Name: "cloud", Value: "public", EnvVars: []string{"AZEXEC_CLOUD"},
			Usage: "Azure cloud: public, china or usgov (AZURE_AUTHORITY_HOST overrides the authority)"},
		&cli.StringFlag{Name: "auth-file", EnvVars: []string{"AZEXEC_AUTH_FILE"},
			Usage: "legacy SDK auth file (`PATH`; default AZURE_AUTH_LOCATION)"},
		&cli.StringFlag{Name: "client-id", EnvVars: []string{"AZEXEC_CLIENT_ID"},
			Usage: "client `ID` of a user-assigned managed identity"},
		&cli.StringFlag{Name: "service-connection", EnvVars: []string{"AZEXEC_SERVICE_CONNECTION"},
			Usage: "Azure Pipelines service connection `ID` for the pipelines source (default AZURESUBSCRIPTION_SERVICE_CONNECTION_ID)"},
		&cli.StringSliceFlag{Name: "env-file", EnvVars: []string{"AZEXEC_ENV_FILE"},
			Usage: "read variables for COMMAND from `FILE` (repeatable; later wins over earlier and over the process environment)"},
		&cli.StringFlag{Name: "log-level", Value: "warn", EnvVars: []string{"AZEXEC_LOG_LEVEL"},
			Usage: "log level on stderr: trace, debug, info, warn, error, off"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"AZEXEC_LOG_FORMAT"},
			Usage: "log format: text or json"},
		&cli.StringFlag{Name: "inject", Value: "auto", EnvVars: []string{"AZEXEC_INJECT"},
			Usage: "how COMMAND receives the identity: auto, env, auth-file, endpoint or none (see INJECTION)"},
		&cli.BoolFlag{Name: "arm", EnvVars: []string{"AZEXEC_ARM"},
			Usage: "also set the ARM_* variables Terraform's azurerm provider reads"},
		&cli.StringSliceFlag{Name: "token", EnvVars: []string{"AZEXEC_TOKEN"},
			Usage: "give COMMAND an access token in `VAR=SCOPE` (an alias such as arm or ossrdbms, a resource or a scope; repeatable)"},
		&cli.StringSliceFlag{Name: "file", EnvVars: []string{"AZEXEC_FILE"},
			Usage: "as `VAR=TEMPLATE`: render TEMPLATE into a sealed in-memory file and give COMMAND its path (/dev/fd/N) in VAR " +
				"(repeatable; AZEXEC_FILE: comma-separated); see azexec inject --help for the template syntax"},
		&cli.StringSliceFlag{Name: "allow-scope", EnvVars: []string{"AZEXEC_ALLOW_SCOPE"},
			Usage: "with --inject endpoint or serve, serve only these `SCOPE`s (repeatable); anything else gets 403"},
		&cli.StringFlag{Name: "subscription", EnvVars: []string{"AZEXEC_SUBSCRIPTION"},
			Usage: "subscription `ID` for COMMAND (default: AZURE_SUBSCRIPTION_ID, the auth file's, az's default, or the only one visible)"},
		&cli.IntFlag{Name: "concurrency", Value: providers.DefaultConcurrency, EnvVars: []string{"AZEXEC_CONCURRENCY"},
			Usage: "fetch at most `N` Key Vault secrets at once, all vaults together; below it each vault's limit adapts (starts at 64, halves when the vault throttles)"},
		&cli.DurationFlag{Name: "timeout", Value: providers.DefaultTimeout, EnvVars: []string{"AZEXEC_TIMEOUT"},
			Usage: "give up signing in, and then fetching Key Vault references and tokens, after `DURATION` each, retries included"},
		&cli.StringSliceFlag{Name: "keyvault-emulator", EnvVars: []string{"AZEXEC_KEYVAULT_EMULATOR"},
			Usage: "let references name the Key Vault emulator at `HOST:PORT` on loopback (repeatable); it gets Key Vault tokens only"},
		&cli.StringFlag{Name: "profile", EnvVars: []string{"AZEXEC_PROFILE"},
			Usage: "use the service principal kept as profile `NAME` (azexec profile add); the only source tried"},
		&cli.StringFlag{Name: "keyring-backend", EnvVars: []string{"AZEXEC_KEYRING_BACKEND"},
			Usage: "keyring for profiles and the token cache: keychain, wincred, secret-service, kwallet, keyctl, pass or file (default: the platform's own)"},
		&cli.BoolFlag{Name: "no-cache", EnvVars: []string{"AZEXEC_NO_CACHE"},
			Usage: "neither read nor write access tokens in the keyring's token cache"},
		&cli.BoolFlag{Name: "supervise", EnvVars: []string{"AZEXEC_SUPERVISE"},
			Usage: "keep azexec as COMMAND's parent (forwarding signals) instead of replacing itself with COMMAND"},
		&cli.BoolFlag{Name: "mask", EnvVars: []string{"AZEXEC_MASK"},
			Usage: "replace every secret azexec gives COMMAND with <concealed by azexec> in COMMAND's output, on a pseudo-terminal when azexec has a terminal (default: on in CI, i.e. CI, GITHUB_ACTIONS or TF_BUILD set; implies --supervise)"},
		&cli.BoolFlag{Name: "no-mask", EnvVars: []string{"AZEXEC_NO_MASK"},
			Usage: "show COMMAND's output as it is, also in CI (wins over --mask)"},
	}, watchFlags()...)
}

// childOnly are the global flags that only shape COMMAND's environment.
var childOnly = map[string]bool{
	"inject": true, "arm": true, "token": true, "file": true, "allow-scope": true,
	"concurrency": true, "keyvault-emulator": true, "supervise": true,
	"mask": true, "no-mask": true,
	"watch": true, "watch-signal": true, "watch-grace": true, "watch-reload": true,
}

// identityFlags are the global flags that matter to a command that only
// resolves the identity and fetches a token (the credential plugins): the
// wrapper's own flags would only clutter their help.
func identityFlags() []cli.Flag {
	var out []cli.Flag
	for _, f := range globalFlags() {
		if !childOnly[f.Names()[0]] {
			out = append(out, f)
		}
	}
	return out
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
	g := globalOptions{
		Identity:  str("identity"),
		Cloud:     str("cloud"),
		CloudSet:  setAt("cloud").IsSet("cloud"),
		AuthFile:  str("auth-file"),
		ClientID:  str("client-id"),
		EnvFiles:  slice(c, "env-file"),
		LogLevel:  str("log-level"),
		LogFormat: str("log-format"),
		Supervise: setAt("supervise").Bool("supervise"),
		Mask:      setAt("mask").Bool("mask"),
		MaskSet:   setAt("mask").IsSet("mask"),
		NoMask:    setAt("no-mask").Bool("no-mask"),

		Concurrency: setAt("concurrency").Int("concurrency"),
		Timeout:     setAt("timeout").Duration("timeout"),

		KeyVaultEmulators: slice(c, "keyvault-emulator"),

		Inject:       str("inject"),
		ARM:          setAt("arm").Bool("arm"),
		Tokens:       slice(c, "token"),
		Files:        slice(c, "file"),
		AllowScopes:  slice(c, "allow-scope"),
		Subscription: str("subscription"),

		Profile:        str("profile"),
		KeyringBackend: str("keyring-backend"),
		NoCache:        setAt("no-cache").Bool("no-cache"),
		InjectSet:      setAt("inject").IsSet("inject"),

		ServiceConnection: str("service-connection"),
	}
	readWatch(c, &g, setAt)
	return g
}

// slice gathers a repeatable flag from every level that set it, outermost
// first. A level whose list equals the one before is the same AZEXEC_*
// variable seen again (it sets the flag at every level) and is skipped;
// repeats the user wrote stay, in order, since order decides precedence.
func slice(c *cli.Context, name string) []string {
	var out, prev []string
	lineage := c.Lineage()
	for i := len(lineage) - 1; i >= 0; i-- {
		if !slices.Contains(lineage[i].LocalFlagNames(), name) {
			continue
		}
		vals := lineage[i].StringSlice(name)
		if slices.Equal(vals, prev) {
			continue
		}
		out = append(out, vals...)
		prev = vals
	}
	return out
}
