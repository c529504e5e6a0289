package resolve

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
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
	if src.Name() == "managed" {
		// App Service and Service Fabric send IDENTITY_HEADER, Azure ML
		// MSI_SECRET, as the SDK reads them: from the process environment.
		// (The federated token of workload identity is reported as it is
		// sent, by reportingPolicy: the SDK rereads the file as the
		// platform rotates it.)
		for _, k := range []string{"IDENTITY_HEADER", "MSI_SECRET"} {
			ch.OnSecret(cfg.env(k))
		}
	}
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

// reportingPolicy tells onSecret every credential an identity source's SDK
// client sends, as it sends it: the form fields of a token request (the
// client secret, and the client assertion MSAL signs with a certificate,
// which azexec never sees otherwise) and the headers that carry a secret
// (Authorization, X-IDENTITY-HEADER, App Service's older "secret"). A
// server that echoes its request then echoes only values the scrubber
// knows.
type reportingPolicy struct{ onSecret func(string) }

// secretFields are the form fields of OAuth token requests that hold a
// credential.
var secretFields = []string{"client_secret", "client_assertion", "assertion", "refresh_token", "access_token", "password"}

// Do implements policy.Policy.
func (p reportingPolicy) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	for _, h := range []string{"Authorization", "X-Identity-Header", "Secret"} {
		v := raw.Header.Get(h)
		if scheme, cred, ok := strings.Cut(v, " "); ok && h == "Authorization" && scheme != "" {
			v = cred
		}
		p.onSecret(v)
	}
	if body := req.Body(); body != nil && strings.HasPrefix(raw.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		data, err := io.ReadAll(io.LimitReader(body, 64<<10))
		if rerr := req.RewindBody(); rerr != nil {
			return nil, rerr
		}
		if err == nil {
			if form, err := url.ParseQuery(string(data)); err == nil {
				for _, k := range secretFields {
					for _, v := range form[k] {
						p.onSecret(v)
					}
				}
			}
		}
	}
	return req.Next()
}

// withReporting returns cfg with reportingPolicy added to the SDK client
// options every source builds its credential with; cfg itself is left
// as it was.
func withReporting(cfg *Config, onSecret func(string)) *Config {
	c := *cfg
	c.ClientOptions.PerCallPolicies = append(slices.Clone(cfg.ClientOptions.PerCallPolicies), reportingPolicy{onSecret})
	return &c
}
