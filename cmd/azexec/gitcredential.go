package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/providers"
)

// gitCredentialOptions are `azexec git-credential`'s: the operation git
// asks for.
type gitCredentialOptions struct {
	globals   globalOptions
	operation string
}

func gitCredentialCommand(streams streams) *cli.Command {
	return &cli.Command{
		Name:      "git-credential",
		Usage:     "git credential helper: Entra tokens for Azure DevOps over https",
		ArgsUsage: "get|store|erase",
		Description: "Speaks git's credential helper protocol (gitcredentials(7)) on stdin and stdout.\n" +
			"For an https remote on dev.azure.com or *.visualstudio.com, `get` answers a user name and an\n" +
			"Entra access token for Azure DevOps as the password, with password_expiry_utc. For any\n" +
			"other host, or plain http, it answers nothing, so git asks its next helper. `store` and\n" +
			"`erase` keep nothing. Also reached as git-credential-azexec.\n\n" +
			"SET UP (~/.gitconfig):\n" +
			"   [credential \"https://dev.azure.com\"]\n" +
			"       helper =\n" +
			"       helper = !azexec git-credential",
		Flags: groupFlags(identityFlags()),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail.New(fail.Usage, "git-credential takes one operation").
					WithHint("git runs it as: azexec git-credential get|store|erase")
			}
			return runGitCredential(c, streams, gitCredentialOptions{globals: readGlobals(c), operation: c.Args().First()})
		},
	}
}

// runGitCredential answers one request of git's. Decisions that need no
// identity (the host is not Azure DevOps) are made before resolving one, so
// that git's other remotes cost nothing and never touch Azure.
func runGitCredential(c *cli.Context, streams streams, o gitCredentialOptions) error {
	switch o.operation {
	case "get":
	case "store", "erase":
		// azexec keeps nothing: tokens are fetched fresh on every get.
		_, _ = io.Copy(io.Discard, io.LimitReader(streams.in, 1<<20))
		return nil
	default:
		// gitcredentials(7): a helper must ignore operations it does not
		// know, leaving room for new ones.
		return nil
	}
	cred, err := providers.ParseGitCredential(streams.in)
	if err != nil {
		return err
	}
	if !cred.IsAzureDevOps() {
		return nil
	}
	o.globals.ProofScope = providers.AzureDevOpsResource
	s, err := openSession(c.Context, streams, o.globals)
	if err != nil {
		return err
	}
	defer s.close()
	scope, err := providers.Scope(s.id.Cloud, providers.AzureDevOpsResource)
	if err != nil {
		return err
	}
	s.log.Debug("answering git for Azure DevOps", "host", cred.Host, "scope", scope)
	ctx, cancel := s.withTimeout(c.Context)
	defer cancel()
	tok, err := providers.Token(ctx, s.id, scope, "")
	if err != nil {
		return err
	}
	s.scrub.Add(tok.Token)
	// Azure DevOps reads only the password; the user name is for git's
	// messages and for other helpers that store what git learns.
	user := cred.Username
	for _, u := range []string{s.id.User, s.id.ClientID, "azexec"} {
		if user == "" {
			user = u
		}
	}
	return providers.GitAnswer{Username: user, Password: tok.Token, PasswordExpiry: tok.ExpiresOn}.Write(streams.out)
}
