package providers

import (
	"context"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/resolve"
)

// tokenFetchTimeout bounds one token request, as the chain bounds its proof
// request: the CLI sources run a subprocess that may hang on a prompt, and
// a plugin that hangs hangs kubectl, git or docker with it.
const tokenFetchTimeout = 30 * time.Second

// Token gets an access token for scope (and tenant, when not empty) with
// the resolved identity's credential, which caches per tenant and scope.
//
// A failure is a fail.Fetch error (exit 4) carrying the reason and hint the
// chain gives for the same cause, because the identity was proven and it is
// this one token that could not be had. The message names the scope, never
// the token.
func Token(ctx context.Context, id *resolve.Identity, scope, tenant string) (azcore.AccessToken, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	tok, err := id.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}, TenantID: tenant})
	if err == nil {
		return tok, nil
	}
	reason, hint := resolve.Explain(id.Source, err)
	reason, _, _ = strings.Cut(reason, ". To enable acquiring tokens") // the SDK's advice is for code; the hint is for users
	e := fail.New(fail.Fetch, "token for %q: %s", scope, reason).Wrap(err)
	switch {
	case hint != "":
		e.Hint = hint
	case tenant != "" && strings.Contains(err.Error(), "isn't configured to acquire tokens for tenant"):
		e.Hint = "allow the tenant first: AZURE_ADDITIONALLY_ALLOWED_TENANTS=" + tenant + " (or * for any tenant)"
	case strings.Contains(err.Error(), "AADSTS500011"):
		e.Hint = "the resource is not known in this tenant: check the scope or resource, and the tenant (--tenant)"
	}
	return tok, e
}

// AZToken is what `az account get-access-token -o json` prints (Azure CLI
// 2.54 and later), field for field and in its (sorted) order, so that a
// script, or an SDK's AzureCLICredential, can read azexec's output instead.
type AZToken struct {
	AccessToken string `json:"accessToken"`
	// ExpiresOn is local time without a zone, as az prints it
	// ("2006-01-02 15:04:05.000000"): readers parse it in local time.
	ExpiresOn string `json:"expiresOn"`
	// ExpiresOnUnix is expires_on, Unix seconds: the unambiguous form, which
	// readers prefer when present.
	ExpiresOnUnix int64 `json:"expires_on"`
	// Subscription is printed by az for the default subscription; azexec
	// prints it only when it knows one (auth file, AZURE_SUBSCRIPTION_ID).
	Subscription string `json:"subscription,omitempty"`
	Tenant       string `json:"tenant"`
	TokenType    string `json:"tokenType"`
}

// azTimeLayout is Python's "%Y-%m-%d %H:%M:%S.%f", which az uses.
const azTimeLayout = "2006-01-02 15:04:05.000000"

// NewAZToken builds the az CLI's JSON for tok.
// Both expiry fields name the same whole second, as az derives expiresOn
// from expires_on.
func NewAZToken(tok azcore.AccessToken, tenant, subscription string) AZToken {
	exp := tok.ExpiresOn.Truncate(time.Second)
	return AZToken{
		AccessToken:   tok.Token,
		ExpiresOn:     exp.Local().Format(azTimeLayout),
		ExpiresOnUnix: exp.Unix(),
		Subscription:  subscription,
		Tenant:        tenant,
		TokenType:     "Bearer",
	}
}
