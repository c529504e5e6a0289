package resolve

import (
	"os"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azexec/azexec/internal/fail"
)

// workloadSource is workload identity federation: a token file projected
// by the platform (AKS, GitHub Actions via a script) exchanged for an Entra
// token. Only its path is read here; the SDK rereads the file as it rotates.
type workloadSource struct{}

func (workloadSource) Name() string { return "workload" }

func (workloadSource) Load(cfg *Config) (*Candidate, error) {
	file := cfg.env("AZURE_FEDERATED_TOKEN_FILE")
	if file == "" {
		return nil, unavailable("AZURE_FEDERATED_TOKEN_FILE is not set")
	}
	tenant, client := cfg.env("AZURE_TENANT_ID"), cfg.env("AZURE_CLIENT_ID")
	if missing := missingVars(map[string]string{"AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client}); missing != "" {
		return nil, &fail.Error{Kind: fail.Identity,
			Msg:  missing + " not set, but AZURE_FEDERATED_TOKEN_FILE is",
			Hint: "on AKS, label the pod azure.workload.identity/use: \"true\" and annotate its service account with the client id"}
	}
	// Read once here so that the chain can tell the log scrubber the
	// assertion: should the authority echo it in an error, it is masked.
	assertion, err := os.ReadFile(file)
	if err != nil {
		return nil, &fail.Error{Kind: fail.Identity, Err: err,
			Msg:  "federated token file " + strconv.Quote(file) + ": " + errText(err),
			Hint: "AZURE_FEDERATED_TOKEN_FILE must name the projected service account token"}
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:              cfg.clientOptions(),
		ClientID:                   client,
		TenantID:                   tenant,
		TokenFilePath:              file,
		DisableInstanceDiscovery:   !cfg.Cloud.Known(),
		AdditionallyAllowedTenants: cfg.allowedTenants(),
	})
	if err != nil {
		return nil, configError("workload identity: %s", firstLine(err.Error()))
	}
	return &Candidate{Credential: cred, Secrets: []string{strings.TrimSpace(string(assertion))},
		CacheID: workloadCacheID(cfg, tenant, client, file, assertion), Identity: Identity{
			Kind: "workload identity", TenantID: tenant, ClientID: client, Cloud: cfg.Cloud,
			Subscription: cfg.subscription(),
		}}, nil
}
