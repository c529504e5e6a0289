package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/providers"
)

// dockerCredentialOptions are `azexec docker-credential`'s.
type dockerCredentialOptions struct {
	globals   globalOptions
	operation string
	// acrHosts are registry hosts beyond *.azurecr.{io,cn,us} that get a
	// token (custom domains, a local stand-in for tests).
	acrHosts []string
}

// The answers the docker-credential-helpers protocol defines. Clients
// compare them as strings, so they must be exact.
const (
	dockerNotFound     = "credentials not found in native keychain"
	dockerNoServerURL  = "no credentials server URL"
	dockerNotFoundExit = 1
)

func dockerCredentialCommand(streams streams) *cli.Command {
	return &cli.Command{
		Name:      "docker-credential",
		Usage:     "docker credential helper: Azure Container Registry refresh tokens",
		ArgsUsage: "get|store|erase|list|version",
		Description: "Speaks the docker-credential-helpers protocol; docker runs it as docker-credential-azexec.\n" +
			"For an Azure Container Registry (*.azurecr.io, *.azurecr.cn, *.azurecr.us, and the hosts in\n" +
			"AZEXEC_ACR_HOSTS) `get` exchanges an Entra token for a registry refresh token and answers\n" +
			"it as the Secret of user 00000000-0000-0000-0000-000000000000, as `az acr login` does.\n" +
			"Any other registry gets \"credentials not found\", so docker uses its own. `store` and\n" +
			"`erase` keep nothing; `list` lists nothing.\n\n" +
			"SET UP (~/.docker/config.json, with docker-credential-azexec on PATH):\n" +
			"   {\"credHelpers\": {\"myregistry.azurecr.io\": \"azexec\"}}",
		Flags: append(groupFlags(identityFlags()),
			&cli.StringSliceFlag{Name: "acr-host", EnvVars: []string{"AZEXEC_ACR_HOSTS"},
				Usage: "also treat `HOST[:PORT]` as an Azure Container Registry (repeatable, or comma-separated in AZEXEC_ACR_HOSTS): a custom domain"},
		),
		Action: func(c *cli.Context) error {
			o := dockerCredentialOptions{globals: readGlobals(c), operation: c.Args().First(), acrHosts: c.StringSlice("acr-host")}
			err := runDockerCredential(c, streams, o)
			var proto dockerAnswer
			if errors.As(err, &proto) {
				// A protocol answer: its text on stdout, as docker reads it.
				fmt.Fprintln(streams.out, proto.text)
				return childStatus(proto.status)
			}
			if err != nil && fail.KindOf(err) != 0 {
				// Docker shows a helper's stdout in its own error; the
				// details (sources tried, hint) follow on stderr.
				fmt.Fprintf(streams.out, "azexec: error: %s\n", streams.errLog.Redact(err.Error()))
			}
			return err
		},
	}
}

// dockerAnswer is a failure the protocol itself defines, printed on stdout
// with the status, and nothing on stderr: "not found" is an ordinary answer
// for a registry that is not Azure's.
type dockerAnswer struct {
	text   string
	status int
}

func (a dockerAnswer) Error() string { return a.text }

func runDockerCredential(c *cli.Context, streams streams, o dockerCredentialOptions) error {
	switch o.operation {
	case "get":
	case "store", "erase":
		// azexec keeps nothing: the refresh token is fetched on every get.
		_, _ = io.Copy(io.Discard, io.LimitReader(streams.in, 1<<20))
		return nil
	case "list":
		_, err := io.WriteString(streams.out, "{}\n")
		return err
	case "version":
		_, err := fmt.Fprintf(streams.out, "docker-credential-azexec (github.com/azexec/azexec) %s\n", buildVersion())
		return err
	case "":
		return fail.New(fail.Usage, "docker-credential takes one operation").
			WithHint("docker runs it as: docker-credential-azexec get|store|erase|list")
	default:
		return fail.New(fail.Usage, "unknown credential action %q", o.operation).
			WithHint("docker-credential-azexec get|store|erase|list|version")
	}
	raw, err := io.ReadAll(io.LimitReader(streams.in, 64<<10))
	if err != nil {
		return fail.New(fail.Usage, "reading the server URL: %v", err)
	}
	serverURL := strings.TrimSpace(string(raw))
	if serverURL == "" {
		return dockerAnswer{dockerNoServerURL, dockerNotFoundExit}
	}
	host, err := providers.RegistryHost(serverURL)
	if err != nil || !providers.IsRegistry(host, o.acrHosts) {
		return dockerAnswer{dockerNotFound, dockerNotFoundExit}
	}
	o.globals.ProofScope = providers.ACRScope
	s, err := openSession(c.Context, streams, o.globals)
	if err != nil {
		return err
	}
	defer s.close()
	if rc, ok := providers.RegistryCloud(host); ok && rc.Name != s.id.Cloud.Name {
		return fail.New(fail.Fetch, "registry %q is in the %s cloud, the identity in the %s cloud", host, rc.Name, s.id.Cloud.Name).
			WithHint("use --cloud %s (AZEXEC_CLOUD=%s)", rc.Name, rc.Name)
	}
	s.log.Debug("exchanging an Entra token at the registry", "registry", host, "scope", providers.ACRScope, "tenant", s.id.TenantID)
	ctx, cancel := s.withTimeout(c.Context)
	defer cancel()
	tok, err := providers.Token(ctx, s.id, providers.ACRScope, "")
	if err != nil {
		return err
	}
	s.scrub.Add(tok.Token)
	refresh, err := providers.ExchangeACRToken(ctx, providers.NewACRPipeline(&policy.ClientOptions{Transport: s.network.Transporter()}), host, s.id.TenantID, tok.Token)
	if err != nil {
		return err
	}
	s.scrub.Add(refresh)
	b, err := json.Marshal(struct{ ServerURL, Username, Secret string }{serverURL, providers.ACRUsername, refresh})
	if err != nil {
		return err
	}
	_, err = streams.out.Write(append(b, '\n'))
	return err
}

// buildVersion is the module version the binary was built from, for
// `version`; "devel" for a build from a work tree.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
