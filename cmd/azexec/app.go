package main

import (
	"context"
	"io"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
)

// replaceProcess is set by main: only a real azexec process may replace
// itself with COMMAND; in-process tests always supervise.
var replaceProcess bool

// streams are the I/O handles every command writes to, passed in so that
// commands are testable without touching os.Stdout.
type streams struct {
	in          io.Reader
	out, errOut io.Writer
	// errLog is errOut behind the run's scrubber: the logger and azexec's
	// own error messages write through it, COMMAND's stderr does not.
	errLog *scrubber
	// intr, set while the wrapper prepares COMMAND, lets a terminal prompt
	// give way to a signal (interrupt.go); nil elsewhere.
	intr *interrupts
}

// run is the whole command line: it returns the exit status instead of
// exiting, so that deferred cleanup always runs.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	io := streams{in: stdin, out: stdout, errOut: stderr, errLog: &scrubber{w: stderr}}
	argv, command, hasCommand := splitCommand(pluginArgs(args))
	argv = optionsFirst(profileNameLast(argv))
	app := newApp(io, command, hasCommand)
	// No signal handling here: the wrapper catches INT, TERM, HUP and QUIT
	// itself until COMMAND starts (runExec, interrupt.go), and a supervised
	// COMMAND then gets them from inject's forwarder. Cancelling this
	// context on a signal would tell the child twice.
	return report(io.errLog, app.RunContext(context.Background(), argv))
}

// splitCommand separates azexec's own arguments from COMMAND at the first
// "--", before the flag parser sees them: otherwise `azexec -- whoami`
// would run the whoami subcommand instead of a program named whoami.
func splitCommand(args []string) (own, command []string, has bool) {
	i := slices.Index(args, "--")
	if i < 0 {
		return args, nil, false
	}
	return args[:i], args[i+1:], true
}

const appDescription = `azexec resolves an Azure identity the way the Azure SDKs' DefaultAzureCredential
does, proves it by acquiring a token, and runs COMMAND with it. Credentials
never reach disk, argv or a log line.

IDENTITY SOURCES (--identity auto tries them in this order):
   env        service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET,
              or AZURE_CLIENT_CERTIFICATE_PATH (PEM or PKCS#12; AZURE_CLIENT_CERTIFICATE_PASSWORD)
   auth-file  the JSON of az ad sp create-for-rbac --sdk-auth (--auth-file or AZURE_AUTH_LOCATION)
   workload   workload identity federation: AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID, AZURE_CLIENT_ID
   github     GitHub Actions OIDC (permissions: id-token: write): ACTIONS_ID_TOKEN_REQUEST_URL and
              _TOKEN, AZURE_TENANT_ID, AZURE_CLIENT_ID; a fresh OIDC token for every assertion
   pipelines  Azure Pipelines service connection: SYSTEM_OIDCREQUESTURI, SYSTEM_ACCESSTOKEN,
              AZURESUBSCRIPTION_SERVICE_CONNECTION_ID (or --service-connection), _CLIENT_ID, _TENANT_ID
   managed    managed identity (IMDS, App Service, Cloud Shell, Arc, ...); --client-id for user-assigned
   cli        the Azure CLI login (az login)
   azd        the Azure Developer CLI login (azd auth login)
   AZURE_TOKEN_CREDENTIALS=dev|prod|<CredentialTypeName> narrows the chain as in the SDKs.
   --profile NAME (AZEXEC_PROFILE) uses a service principal kept in the OS keyring instead,
   and only it (azexec profile add; tokens are then cached in the keyring: azexec cache).

THE CHILD'S ENVIRONMENT:
   azexec's own environment, then each --env-file in order (later wins), then what azexec
   sets: for a service principal AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET
   (or the certificate variables), AZURE_SUBSCRIPTION_ID when known, and AZURE_AUTHORITY_HOST
   outside the public cloud. For other identities the child's own SDK finds the same login.
   Key Vault references in any of those values are replaced by their secrets first, all or
   nothing: @Microsoft.KeyVault(SecretUri=...), @Microsoft.KeyVault(VaultName=...;SecretName=...)
   or keyvault://VAULT/NAME[/VERSION] (see azexec env --help; --concurrency, --timeout).

INJECTION (--inject MODE, how COMMAND receives the identity):
   auto       env for a service principal; endpoint for github and pipelines; otherwise the
              environment is left as it is, but for AZURE_SUBSCRIPTION_ID: --subscription, or
              for the az login az's default subscription. The CI job's ACTIONS_ID_TOKEN_REQUEST_*
              and SYSTEM_ACCESSTOKEN never reach COMMAND. In CI (GITHUB_ACTIONS, TF_BUILD) the
              values COMMAND receives are announced to the runner for masking, on stderr.
   env        AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (--arm: ARM_* for Terraform too)
   auth-file  AZURE_AUTH_LOCATION=/dev/fd/N, a sealed in-memory --sdk-auth file (service principal)
   endpoint   IDENTITY_ENDPOINT and IDENTITY_HEADER (and MSI_ENDPOINT, MSI_SECRET): a local managed
              identity endpoint serving tokens for any identity; the child holds no long-lived
              secret (--allow-scope limits it). azexec serve is the same for containers.
   none       no identity variables; inherited credential variables are removed
   --token VAR=SCOPE gives COMMAND an access token (aliases: arm, graph, keyvault, storage, sql,
   ossrdbms, devops, aks, eventhubs, servicebus, cosmos; or a resource or scope).
   --file VAR=TEMPLATE renders a template's Key Vault references and {{ env:NAME }} into a sealed
   in-memory file and gives COMMAND its path, /dev/fd/N, in VAR; nothing reaches the disk
   (syntax: azexec inject --help; repeatable; AZEXEC_FILE comma-separated).

MASKING (--mask, --no-mask; on by default in CI: CI, GITHUB_ACTIONS or TF_BUILD set):
   every secret azexec gives COMMAND (Key Vault values, --token tokens, the service principal's
   secret or certificate password, the endpoint's header) is replaced by <concealed by azexec>
   in COMMAND's stdout and stderr, also base64-, URL- or JSON-encoded and split across writes.
   azexec then supervises COMMAND; on a terminal COMMAND gets a pseudo-terminal, so colours
   and full-screen programs work. Values under 6 characters are left, with a warning.

EXAMPLES:
   azexec -- go run .                    run with whatever identity the chain finds
   azexec --identity cli whoami          show who the Azure CLI login is
   azexec --env-file .env -- make deploy
   azexec --env-file .env --watch -- npm run dev   restart the dev server when a secret it uses rotates
   azexec --inject endpoint -- node server.js
   azexec --file APPSETTINGS_PATH=appsettings.tmpl.json -- dotnet run
   azexec serve --listen 172.17.0.1 --advertise host.docker.internal -- docker compose up
   azexec --inject none --token PGPASSWORD=ossrdbms -- psql "host=db.postgres.database.azure.com ..."
   AZEXEC_LOG_LEVEL=debug azexec -- env  see every decision (never a value)

` + exitHelp

// newApp wires flags to options; each subcommand lives in its own file.
func newApp(io streams, command []string, hasCommand bool) *cli.App {
	app := &cli.App{
		Name:                   "azexec",
		Usage:                  "run a command with an Azure identity, without secrets on disk",
		UsageText:              "azexec [options] -- COMMAND [ARGS...]\nazexec [options] whoami [--json]\nazexec [options] token [--format token|json|exec-credential] (--scope S | --resource R | ALIAS)",
		Description:            appDescription,
		Reader:                 io.in,
		Writer:                 io.out,
		ErrWriter:              io.errOut,
		Flags:                  append(globalFlags(), versionFlag(), cli.HelpFlag), // help: our help command stops urfave adding it
		HideHelpCommand:        true,
		UseShortOptionHandling: false,
		ExitErrHandler:         func(*cli.Context, error) {},
		OnUsageError:           flagUsageError,
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				return printVersion(io.out, currentBuild())
			}
			if c.Args().Present() {
				return fail.New(fail.Usage, "unknown command %q", c.Args().First()).
					WithHint("to run a program, put -- before it: azexec -- %s; azexec help lists the commands", shellJoin(c.Args().Slice()))
			}
			if !hasCommand || len(command) == 0 {
				return fail.New(fail.Usage, "no command given").
					WithHint("azexec [options] -- COMMAND [ARGS...], or azexec --help")
			}
			return runExec(c.Context, io, readGlobals(c), command)
		},
		Commands: []*cli.Command{whoamiCommand(io), envCommand(io), injectCommand(io), tokenCommand(io),
			serveCommand(io, command, hasCommand), gitCredentialCommand(io), dockerCredentialCommand(io), profileCommand(io), cacheCommand(io), kubeconfigCommand(io),
			webhookCommand(io), installCommand(),
			completionCommand(io), versionCommand(io), helpCommand(io)},
	}
	setUsageErrors(app.Commands)
	return app
}

// flagUsageError turns urfave/cli's flag errors into azexec's usage error,
// with the help command of the command that failed as the hint.
func flagUsageError(c *cli.Context, err error, _ bool) error {
	msg := flagErrorText(err)
	help := "azexec --help"
	if c != nil && c.Command != nil && c.Command.HelpName != "" {
		help = c.Command.HelpName + " --help"
	}
	return fail.New(fail.Usage, "%s", msg).WithHint("run %s", help)
}

// setUsageErrors gives every subcommand the same usage-error handling.
func setUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = flagUsageError
		}
		setUsageErrors(c.Subcommands)
	}
}
