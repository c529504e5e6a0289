package resolve

import (
	"strings"

	"github.com/azexec/azexec/internal/fail"
)

// tokenCredentialNames maps the SDK's credential type names, as accepted by
// AZURE_TOKEN_CREDENTIALS, to azexec's sources.
var tokenCredentialNames = map[string]string{
	"environmentcredential":       "env",
	"workloadidentitycredential":  "workload",
	"managedidentitycredential":   "managed",
	"azureclicredential":          "cli",
	"azuredeveloperclicredential": "azd",
}

// SelectProfile returns the one source tried when a profile is named:
// naming one is as explicit as --identity, so the chain and
// AZURE_TOKEN_CREDENTIALS are not consulted, and a different --identity is
// a contradiction.
func SelectProfile(identity, name string) ([]Source, error) {
	switch strings.ToLower(strings.TrimSpace(identity)) {
	case "", "auto", "profile":
		return []Source{profileSource{}}, nil
	}
	return nil, fail.New(fail.Usage, "--profile %q and --identity %q both choose an identity", name, identity).
		WithHint("drop one of them (AZEXEC_PROFILE and AZEXEC_IDENTITY count too)")
}

// Select returns the sources to try. An explicit --identity NAME wins;
// with auto, AZURE_TOKEN_CREDENTIALS narrows the chain exactly as the SDK
// documents: "dev" keeps the developer logins, "prod" the deployed
// sources (the auth file counts as deployed configuration, like the
// environment; the CI sources github and pipelines are deployed too), a credential type name keeps that one, and anything else,
// the empty string included, is an error.
func Select(identity string, atc string, atcSet bool) ([]Source, error) {
	identity = strings.ToLower(strings.TrimSpace(identity))
	if identity == "profile" {
		return nil, fail.New(fail.Usage, "--identity profile needs a profile name").
			WithHint("use --profile NAME (or AZEXEC_PROFILE); azexec profile list shows the names")
	}
	if identity != "" && identity != "auto" {
		s, ok := NewSource(identity)
		if !ok {
			return nil, fail.New(fail.Usage, "unknown identity source %q", identity).
				WithHint("use auto or one of: %s", strings.Join(SourceNames, ", "))
		}
		return []Source{s}, nil
	}
	names := SourceNames
	if atcSet {
		// "dev" and "prod" match exactly, type names in any case: the Go
		// SDK's own rule, so a child inheriting the value agrees.
		switch v := strings.ToLower(atc); {
		case atc == "dev":
			names = []string{"cli", "azd"}
		case atc == "prod":
			names = []string{"env", "auth-file", "workload", "github", "pipelines", "managed"}
		case tokenCredentialNames[v] != "":
			names = []string{tokenCredentialNames[v]}
		case v == "azurepowershellcredential":
			return nil, fail.New(fail.Usage, "AZURE_TOKEN_CREDENTIALS=%q selects Azure PowerShell, which azexec does not support", atc).
				WithHint("use dev, prod, or one of EnvironmentCredential, WorkloadIdentityCredential, ManagedIdentityCredential, AzureCLICredential, AzureDeveloperCLICredential")
		default:
			return nil, fail.New(fail.Usage, "invalid AZURE_TOKEN_CREDENTIALS value %q", atc).
				WithHint("use dev, prod, or a credential type name such as AzureCLICredential; or unset it")
		}
	}
	return narrowed(names, atc), nil
}
