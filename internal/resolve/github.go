package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azexec/azexec/internal/fail"
)

// The GitHub Actions job's own OIDC request credentials. GitHub sets them
// only in jobs with `permissions: id-token: write`.
const (
	ghRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	ghRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// ghAudiences are the audiences Entra ID documents for federated
// credentials, per cloud; a custom authority uses the public one.
var ghAudiences = map[string]string{
	"public": "api://AzureADTokenExchange",
	"china":  "api://AzureADTokenExchangeChina",
	"usgov":  "api://AzureADTokenExchangeUSGov",
}

// FederatedAudience is the audience a CI OIDC token must carry for Entra
// ID to exchange it in cloud c.
func FederatedAudience(c Cloud) string {
	if a, ok := ghAudiences[c.Name]; ok {
		return a
	}
	return ghAudiences["public"]
}

// The bounds of one OIDC token request: each try, the retries, and the
// whole request. GitHub answers in milliseconds; a job must not hang on it.
const (
	oidcTryTimeout   = 10 * time.Second
	oidcRetries      = 3
	oidcTotalTimeout = 30 * time.Second
)

// githubSource is GitHub Actions workload identity federation: the job's
// OIDC endpoint issues a short-lived ID token, which Entra ID exchanges for
// an access token of the application named by AZURE_CLIENT_ID. A new ID
// token is fetched for every assertion the SDK needs, so tokens keep coming
// for as long as the job runs, whatever its length (azure/login's one
// token expires after minutes).
type githubSource struct{}

func (githubSource) Name() string { return "github" }

func (githubSource) Load(cfg *Config) (*Candidate, error) {
	reqURL, reqToken := cfg.env(ghRequestURL), cfg.env(ghRequestToken)
	if reqURL == "" || reqToken == "" {
		if cfg.env("GITHUB_ACTIONS") == "true" {
			return nil, unavailableHint(
				"the job has no OIDC token: give it `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set)",
				"add `permissions: id-token: write` to the workflow or job (see docs/ci.md)")
		}
		return nil, unavailable("ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set (not a GitHub Actions job with id-token: write)")
	}
	tenant, client := cfg.env("AZURE_TENANT_ID"), cfg.env("AZURE_CLIENT_ID")
	if missing := missingVars(map[string]string{"AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client}); missing != "" {
		return nil, unavailableHint(missing+" not set, but the job can request an OIDC token",
			"set AZURE_CLIENT_ID and AZURE_TENANT_ID in the step's env: the application with the federated credential, and its tenant")
	}
	u, err := url.Parse(reqURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, configError("%s is not an https URL", ghRequestURL)
	}
	g := &githubAssertions{
		url:      u,
		token:    reqToken,
		audience: FederatedAudience(cfg.Cloud),
		client:   client,
		secret:   cfg.secret,
		pipeline: runtime.NewPipeline("azexec", "", runtime.PipelineOptions{}, oidcClientOptions(cfg)),
	}
	cred, err := azidentity.NewClientAssertionCredential(tenant, client, g.assertion, &azidentity.ClientAssertionCredentialOptions{
		ClientOptions:              cfg.clientOptions(),
		DisableInstanceDiscovery:   !cfg.Cloud.Known(),
		AdditionallyAllowedTenants: cfg.allowedTenants(),
	})
	if err != nil {
		return nil, configError("github: %s", firstLine(err.Error()))
	}
	return &Candidate{Credential: &githubCredential{cred: cred, g: g}, Secrets: []string{reqToken}, Identity: Identity{
		Kind: "GitHub Actions OIDC", TenantID: tenant, ClientID: client, Cloud: cfg.Cloud,
		Subscription: cfg.subscription(),
	}}, nil
}

// oidcClientOptions are the options of the OIDC requests: the process's
// transport and proxy, with bounded retries of their own.
func oidcClientOptions(cfg *Config) *policy.ClientOptions {
	o := cfg.clientOptions()
	o.Retry = policy.RetryOptions{MaxRetries: oidcRetries, TryTimeout: oidcTryTimeout,
		RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 4 * time.Second}
	return &o
}

// githubAssertions fetches the job's ID tokens. It remembers the public
// claims (iss, sub, aud) of the last one, so that an error of Entra ID can
// say which federated credential would match.
type githubAssertions struct {
	url      *url.URL
	token    string
	audience string
	client   string
	secret   func(string)
	pipeline runtime.Pipeline

	mu   sync.Mutex
	last jwtClaims
}

// assertion is the ClientAssertionCredential callback: one fresh ID token
// per call, never cached, so that no assertion outlives its few minutes.
func (g *githubAssertions) assertion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, oidcTotalTimeout)
	defer cancel()
	u := *g.url
	q := u.Query()
	q.Set("audience", g.audience)
	u.RawQuery = q.Encode()
	req, err := runtime.NewRequest(ctx, http.MethodGet, u.String())
	if err != nil {
		return "", g.fail(err.Error(), "")
	}
	req.Raw().Header.Set("Authorization", "Bearer "+g.token)
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := g.pipeline.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", g.fail(fmt.Sprintf("no answer within %s", oidcTotalTimeout), "")
		}
		return "", g.fail(firstLine(err.Error()), "")
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return "", g.fail(firstLine(err.Error()), "")
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", g.fail(resp.Status,
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN is valid only in its own job while it runs; the job needs `permissions: id-token: write`")
	case resp.StatusCode != http.StatusOK:
		return "", g.fail(resp.Status, "")
	}
	var r struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(body, &r) != nil || r.Value == "" {
		return "", g.fail("the answer holds no token (want {\"value\": JWT})", "")
	}
	if g.secret != nil {
		g.secret(r.Value)
	}
	g.mu.Lock()
	g.last = parseJWTClaims(r.Value)
	g.mu.Unlock()
	return r.Value, nil
}

// fail names the request in an error: the SDK wraps it, and the chain
// shows it.
func (g *githubAssertions) fail(what, hint string) error {
	return &fail.Error{Kind: fail.Identity, Msg: "GitHub Actions OIDC token request (" + ghRequestURL + "): " + what, Hint: hint}
}

func (g *githubAssertions) lastClaims() jwtClaims {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// githubCredential turns Entra ID's refusal of the job's token into advice
// naming the values a federated credential must have to match this job.
type githubCredential struct {
	cred *azidentity.ClientAssertionCredential
	g    *githubAssertions
}

// GetToken gets a token with a fresh assertion when the SDK has none cached.
func (c *githubCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.cred.GetToken(ctx, opts)
	if err == nil {
		return tok, nil
	}
	var fe *fail.Error
	if errors.As(err, &fe) {
		return tok, fe // the OIDC request failed: its own message and hint
	}
	return tok, federatedError(err, "the job's OIDC token", c.g.client, c.g.lastClaims())
}

// federatedError explains Entra ID's refusal of a federated assertion
// whose public claims are known: no federated credential matches
// (AADSTS700213, 70021, 700211, 700212), or it expired (AADSTS700024).
// Other errors are returned unchanged.
func federatedError(err error, what, client string, c jwtClaims) error {
	msg := err.Error()
	m := aadsts.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	switch {
	case federatedMismatch[m[1]]:
		return &fail.Error{Kind: fail.Identity, Err: err, Msg: aadLine(msg, m[0]),
			Hint: fmt.Sprintf("no federated credential of application %s matches %s: add one (az ad app federated-credential create) "+
				"whose issuer is %q, subject %q and audience %q, exactly (case matters)", client, what, c.Iss, c.Sub, c.Aud)}
	case m[1] == "700024":
		return &fail.Error{Kind: fail.Identity, Err: err, Msg: aadLine(msg, m[0]),
			Hint: "the OIDC token expired before Entra ID saw it: check the runner's clock"}
	}
	return err
}

// federatedMismatch are the Entra ID codes for a federated assertion that
// no federated credential of the application matches.
var federatedMismatch = map[string]bool{"700213": true, "70021": true, "700211": true, "700212": true}

// jwtClaims are the public claims of a federated assertion, read without
// checking its signature: only to explain an error.
type jwtClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"-"`
}

func parseJWTClaims(tok string) jwtClaims {
	var c jwtClaims
	b, ok := jwtPayload(tok)
	if !ok {
		return c
	}
	var raw struct {
		jwtClaims
		Aud any `json:"aud"`
	}
	if json.Unmarshal(b, &raw) != nil {
		return c
	}
	c = raw.jwtClaims
	switch a := raw.Aud.(type) {
	case string:
		c.Aud = a
	case []any:
		var s []string
		for _, x := range a {
			if v, ok := x.(string); ok {
				s = append(s, v)
			}
		}
		c.Aud = strings.Join(s, ",")
	}
	return c
}
