package resolve

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azexec/azexec/internal/fail"
)

// pipelinesTokenHint says how a step gets SYSTEM_ACCESSTOKEN: Azure
// Pipelines maps it into no step's environment unless asked.
const pipelinesTokenHint = "map it into the step's env: `env: { SYSTEM_ACCESSTOKEN: $(System.AccessToken) }` (see docs/ci.md)"

// pipelinesSource is Azure Pipelines workload identity federation: the
// job's OIDC endpoint (SYSTEM_OIDCREQUESTURI) issues a token for an Azure
// Resource Manager service connection, which Entra ID exchanges for an
// access token of the connection's application. azidentity's
// AzurePipelinesCredential asks for a new OIDC token for every assertion,
// so jobs of any length keep getting tokens.
//
// The service connection comes from --service-connection or from the
// variables the AzureCLI@2 and AzurePowerShell@5 tasks set
// (AZURESUBSCRIPTION_SERVICE_CONNECTION_ID, AZURESUBSCRIPTION_CLIENT_ID,
// AZURESUBSCRIPTION_TENANT_ID); AZURE_CLIENT_ID and AZURE_TENANT_ID are
// read when those are not set.
type pipelinesSource struct{}

func (pipelinesSource) Name() string { return "pipelines" }

func (pipelinesSource) Load(cfg *Config) (*Candidate, error) {
	uri := cfg.env("SYSTEM_OIDCREQUESTURI")
	if uri == "" {
		return nil, unavailable("SYSTEM_OIDCREQUESTURI is not set (not an Azure Pipelines job)")
	}
	conn := cfg.ServiceConnection
	if conn == "" {
		conn = cfg.env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")
	}
	if conn == "" {
		return nil, unavailableHint("no service connection: AZURESUBSCRIPTION_SERVICE_CONNECTION_ID is not set and --service-connection is not given",
			"run azexec in an AzureCLI@2 step, or pass --service-connection ID with AZURESUBSCRIPTION_CLIENT_ID and AZURESUBSCRIPTION_TENANT_ID")
	}
	client := firstSet(cfg.env("AZURESUBSCRIPTION_CLIENT_ID"), cfg.env("AZURE_CLIENT_ID"))
	tenant := firstSet(cfg.env("AZURESUBSCRIPTION_TENANT_ID"), cfg.env("AZURE_TENANT_ID"))
	var missing []string
	if tenant == "" {
		missing = append(missing, "AZURESUBSCRIPTION_TENANT_ID")
	}
	if client == "" {
		missing = append(missing, "AZURESUBSCRIPTION_CLIENT_ID")
	}
	if len(missing) > 0 {
		return nil, unavailableHint(strings.Join(missing, " and ")+" not set, but a service connection is",
			"set the service connection's tenant and client id (AzureCLI@2 sets AZURESUBSCRIPTION_TENANT_ID and AZURESUBSCRIPTION_CLIENT_ID; AZURE_TENANT_ID and AZURE_CLIENT_ID work too)")
	}
	token := cfg.env("SYSTEM_ACCESSTOKEN")
	if token == "" {
		return nil, unavailableHint("SYSTEM_ACCESSTOKEN is not set, but service connection "+conn+" is", pipelinesTokenHint)
	}
	// The SDK reads SYSTEM_OIDCREQUESTURI from the process environment
	// itself. Config.Env is that environment; should they ever differ, the
	// token would go where azexec did not look.
	if os.Getenv("SYSTEM_OIDCREQUESTURI") != uri {
		return nil, configError("pipelines: SYSTEM_OIDCREQUESTURI differs from the process environment's")
	}
	cred, err := azidentity.NewAzurePipelinesCredential(tenant, client, conn, token, &azidentity.AzurePipelinesCredentialOptions{
		ClientOptions:              *oidcClientOptions(cfg),
		DisableInstanceDiscovery:   !cfg.Cloud.Known(),
		AdditionallyAllowedTenants: cfg.allowedTenants(),
	})
	if err != nil {
		return nil, configError("pipelines: %s", firstLine(err.Error()))
	}
	return &Candidate{Credential: &pipelinesCredential{cred: cred, conn: conn, client: client}, Secrets: []string{token},
		Identity: Identity{
			Kind: "Azure Pipelines service connection " + conn, TenantID: tenant, ClientID: client, Cloud: cfg.Cloud,
			Subscription: cfg.subscription(),
		}}, nil
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// pipelinesCredential names the OIDC request and the service connection
// in errors, with the fix when the cause is known.
type pipelinesCredential struct {
	cred         *azidentity.AzurePipelinesCredential
	conn, client string
}

// GetToken gets a token, fetching a new OIDC token when the SDK has none
// cached for the scope.
func (c *pipelinesCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.cred.GetToken(ctx, opts)
	if err == nil {
		return tok, nil
	}
	msg := err.Error()
	if strings.Contains(msg, "OIDC endpoint") || strings.Contains(msg, "OIDC token request") {
		status := ""
		for _, s := range []string{"401", "403", "404", "400", "500", "503"} {
			if strings.Contains(msg, s+" ") {
				status = ": HTTP " + s
				break
			}
		}
		hint := "check the service connection id (" + c.conn + ") and that the pipeline may use it"
		if status == ": HTTP 401" || status == ": HTTP 403" {
			hint = "SYSTEM_ACCESSTOKEN was refused: it is valid only in its own job; " + pipelinesTokenHint
		}
		return tok, &fail.Error{Kind: fail.Identity, Err: err,
			Msg: "Azure Pipelines OIDC token request (SYSTEM_OIDCREQUESTURI) failed" + status, Hint: hint}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return tok, err
	}
	if m := aadsts.FindStringSubmatch(msg); m != nil && federatedMismatch[m[1]] {
		return tok, &fail.Error{Kind: fail.Identity, Err: err, Msg: aadLine(msg, m[0]),
			Hint: "no federated credential of application " + c.client + " matches service connection " + c.conn +
				"'s OIDC token: its issuer and subject must be exactly those the service connection shows (Project settings > Service connections), audience " + ghAudiences["public"]}
	}
	return tok, err
}
