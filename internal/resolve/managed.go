package resolve

import (
	"context"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// imdsProbeURL and imdsProbeTimeout mirror the SDK's own DefaultAzureCredential
// probe, which it keeps private: a request without the Metadata header that
// any IMDS answers at once, and that off Azure fails fast or times out.
const (
	imdsProbeURL     = "http://169.254.169.254/metadata/identity/oauth2/token"
	imdsProbeTimeout = time.Second
)

// managedSource is managed identity on every host the SDK supports. The
// SDK decides the host type from the process environment, so this source
// reads the same variables to report which one it found.
type managedSource struct{}

func (managedSource) Name() string { return "managed" }

func (managedSource) Load(cfg *Config) (*Candidate, error) {
	host := managedHost(cfg.env)
	o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: cfg.clientOptions()}
	if host == "Service Fabric" && cfg.ClientOptions.Transport == nil {
		// MSAL pins Service Fabric's certificate on a client it clones,
		// which must be a plain *http.Client over an *http.Transport.
		o.ClientOptions.Transport = nil
	}
	clientID := cfg.ClientID
	if clientID == "" {
		// DefaultAzureCredential passes AZURE_CLIENT_ID as a user-assigned
		// identity; azexec does the same so both pick one identity.
		clientID = cfg.env("AZURE_CLIENT_ID")
	}
	if clientID != "" {
		o.ID = azidentity.ClientID(clientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(o)
	if err != nil {
		return nil, configError("managed identity (%s): %s", host, firstLine(err.Error()))
	}
	c := &Candidate{Credential: cred, CacheID: managedCacheID(cfg, host, clientID), Identity: Identity{
		Kind: "managed identity (" + host + ")", ClientID: clientID, Cloud: cfg.Cloud,
		Subscription: cfg.subscription(),
	}}
	if host == "IMDS" {
		c.Probe = probeIMDS
	}
	return c, nil
}

// managedHost names the managed identity host the SDK will use, by the
// rules of MSAL's managedidentity.GetSource.
func managedHost(env func(string) string) string {
	switch {
	case env("IDENTITY_ENDPOINT") != "" && env("IDENTITY_HEADER") != "":
		if env("IDENTITY_SERVER_THUMBPRINT") != "" {
			return "Service Fabric"
		}
		return "App Service"
	case env("MSI_ENDPOINT") != "" && env("MSI_SECRET") != "":
		return "Azure ML"
	case env("MSI_ENDPOINT") != "":
		return "Cloud Shell"
	case env("IDENTITY_ENDPOINT") != "" && env("IMDS_ENDPOINT") != "":
		return "Azure Arc"
	}
	return "IMDS"
}

// probeIMDS answers whether anything listens at the IMDS address, within a
// second. Without it, the SDK's IMDS retries would hold the chain for many
// seconds on every laptop.
func probeIMDS(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, imdsProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, imdsProbeURL, nil)
	if err != nil {
		return unavailable("IMDS probe: %v", err)
	}
	// IMDS must never go through a proxy.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return unavailable("no IMDS endpoint answered within %s (not on Azure?)", imdsProbeTimeout)
		}
		return unavailable("no IMDS endpoint (not on Azure?)")
	}
	resp.Body.Close()
	return nil
}
