package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/azexec/azexec/internal/resolve"
)

// Subscription is one entry of Resource Manager's subscription list.
type Subscription struct {
	ID          string `json:"subscriptionId"`
	DisplayName string `json:"displayName"`
	TenantID    string `json:"tenantId"`
	State       string `json:"state"`
}

// ListSubscriptions asks Resource Manager which subscriptions the identity
// can see. The SDK's bearer-token policy attaches the identity's token; no
// token handling is written here.
func ListSubscriptions(ctx context.Context, cred azcore.TokenCredential, c resolve.Cloud, opts *policy.ClientOptions) ([]Subscription, error) {
	var o policy.ClientOptions
	if opts != nil {
		o = *opts
	}
	pl := runtime.NewPipeline("azexec", "v1", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{c.ARMScope()}, nil)},
	}, &o)
	req, err := runtime.NewRequest(ctx, http.MethodGet, strings.TrimSuffix(c.ResourceManager, "/")+"/subscriptions?api-version=2022-12-01")
	if err != nil {
		return nil, err
	}
	resp, err := pl.Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, runtime.NewResponseError(resp)
	}
	var page struct {
		Value []Subscription `json:"value"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &page); err != nil {
		return nil, err
	}
	var enabled []Subscription
	for _, s := range page.Value {
		if s.State == "" || strings.EqualFold(s.State, "Enabled") {
			enabled = append(enabled, s)
		}
	}
	return enabled, nil
}

// CLIDefaultSubscription reads the Azure CLI's default subscription from
// azureProfile.json (in AZURE_CONFIG_DIR or ~/.azure), the one `az account
// show` prints, without starting the CLI. The file holds no secret.
func CLIDefaultSubscription(env func(string) (string, bool)) string {
	dir, _ := env("AZURE_CONFIG_DIR")
	if dir == "" {
		home, _ := env("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".azure")
	}
	data, err := os.ReadFile(filepath.Join(dir, "azureProfile.json"))
	if err != nil {
		return ""
	}
	return defaultSubscription(data)
}

// defaultSubscription parses azureProfile.json, which the CLI writes with a
// UTF-8 byte order mark.
func defaultSubscription(data []byte) string {
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	var profile struct {
		Subscriptions []struct {
			ID        string `json:"id"`
			IsDefault bool   `json:"isDefault"`
		} `json:"subscriptions"`
	}
	if json.Unmarshal(data, &profile) != nil {
		return ""
	}
	for _, s := range profile.Subscriptions {
		if s.IsDefault {
			return s.ID
		}
	}
	return ""
}
