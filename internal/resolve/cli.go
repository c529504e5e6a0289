package resolve

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// cliSource is the developer's Azure CLI login: the SDK runs
// `az account get-access-token`. A failure here lets the chain go on to azd,
// as in DefaultAzureCredential.
type cliSource struct{}

func (cliSource) Name() string { return "cli" }

func (cliSource) Load(cfg *Config) (*Candidate, error) {
	if err := lookTool(cfg, "az"); err != nil {
		return nil, err
	}
	cred, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{
		AdditionallyAllowedTenants: cfg.allowedTenants(),
	})
	if err != nil {
		return nil, configError("azure cli: %s", firstLine(err.Error()))
	}
	return &Candidate{Credential: cred, Continue: true, CacheID: cliCacheID(cfg), Identity: Identity{
		Kind: "Azure CLI login", Cloud: cfg.Cloud, Subscription: cfg.subscription(),
	}}, nil
}

// azdSource is the developer's Azure Developer CLI login.
type azdSource struct{}

func (azdSource) Name() string { return "azd" }

func (azdSource) Load(cfg *Config) (*Candidate, error) {
	if err := lookTool(cfg, "azd"); err != nil {
		return nil, err
	}
	cred, err := azidentity.NewAzureDeveloperCLICredential(&azidentity.AzureDeveloperCLICredentialOptions{
		AdditionallyAllowedTenants: cfg.allowedTenants(),
	})
	if err != nil {
		return nil, configError("azure developer cli: %s", firstLine(err.Error()))
	}
	return &Candidate{Credential: cred, Continue: true, CacheID: azdCacheID(cfg), Identity: Identity{
		Kind: "Azure Developer CLI login", Cloud: cfg.Cloud, Subscription: cfg.subscription(),
	}}, nil
}

// lookTool finds a CLI on the process PATH, the one the SDK's shell uses.
func lookTool(cfg *Config, name string) error {
	if cfg.LookPath == nil {
		return unavailable("%s not found on PATH", name)
	}
	if _, err := cfg.LookPath(name); err != nil {
		return unavailable("%s not found on PATH", name)
	}
	return nil
}
