package resolve

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// reportSecrets tells ch.OnSecret the secrets a candidate's credential
// sends, before its first request: a server that echoes the request (a
// token endpoint putting the form into error_description, an identity
// endpoint echoing its header) must not be the way one reaches a log line.
// Each source's secrets are read from where its SDK credential reads them.
func (ch *Chain) reportSecrets(cfg *Config, src Source, cand *Candidate) {
	if ch.OnSecret == nil {
		return
	}
	if sp := cand.Identity.SP; sp != nil {
		ch.OnSecret(sp.ClientSecret.Reveal())
		ch.OnSecret(sp.CertificatePassword.Reveal())
	}
	switch src.Name() {
	case "managed":
		// App Service and Service Fabric send IDENTITY_HEADER, Azure ML
		// MSI_SECRET, as the SDK reads them: from the process environment.
		for _, k := range []string{"IDENTITY_HEADER", "MSI_SECRET"} {
			ch.OnSecret(cfg.processEnv(k))
		}
	case "workload":
		// The federated token is the client assertion of every token
		// request. The SDK rereads the file as the platform rotates it;
		// the one read here is the one the proof request sends.
		ch.OnSecret(readSmall(cfg.env("AZURE_FEDERATED_TOKEN_FILE")))
	}
}

// readSmall returns the trimmed content of a file of at most 64 KiB, or "".
func readSmall(path string) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// reportingCredential tells onToken every token its inner credential
// returns, before the caller sees it: whoever then sends the token (the
// Key Vault client, Resource Manager, the identity endpoint serving a
// child, --token) cannot log it unscrubbed, even through a server's echo.
type reportingCredential struct {
	inner   azcore.TokenCredential
	onToken func(string)
}

// GetToken implements azcore.TokenCredential.
func (c reportingCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	t, err := c.inner.GetToken(ctx, o)
	if err == nil {
		c.onToken(t.Token)
	}
	return t, err
}
