package resolve

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// refreshMargin is how long before expiry a cached token is renewed, so a
// child never receives a token about to lapse.
const refreshMargin = 5 * time.Minute

// cachingCredential remembers tokens per tenant and scope, with one request
// in flight per key. The proof token of resolution is reused by whatever
// needs the same scope later, and concurrent fetches (Key Vault references,
// --token) cost one token request per tenant and scope for the whole run.
type cachingCredential struct {
	inner azcore.TokenCredential
	now   func() time.Time
	// home is the identity's own tenant, once the proof token named it: a
	// request naming it (as a Key Vault challenge does) is the same as one
	// naming none, and must not cost a second request (or a second az run).
	home string

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	mu    sync.Mutex
	token azcore.AccessToken
}

func newCachingCredential(inner azcore.TokenCredential) *cachingCredential {
	return &cachingCredential{inner: inner, now: time.Now, entries: map[string]*cacheEntry{}}
}

func (c *cachingCredential) cacheKey(o policy.TokenRequestOptions) string {
	tenant := o.TenantID
	if strings.EqualFold(tenant, c.home) {
		tenant = ""
	}
	return tenant + "\x00" + strings.Join(o.Scopes, " ") + "\x00" + o.Claims
}

// GetToken implements azcore.TokenCredential.
func (c *cachingCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	e, ok := c.entries[c.cacheKey(o)]
	if !ok {
		e = &cacheEntry{}
		c.entries[c.cacheKey(o)] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token.Token != "" && c.now().Add(refreshMargin).Before(e.token.ExpiresOn) {
		return e.token, nil
	}
	t, err := c.inner.GetToken(ctx, o)
	if err != nil {
		return t, err
	}
	e.token = t
	return t, nil
}
