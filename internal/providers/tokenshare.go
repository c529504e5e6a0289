package providers

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// sharedTokens is the credential every vault client of one Fetch uses: one
// token request per tenant and scope, however many vaults ask at once.
//
// Each azsecrets client asks its credential for a token after its vault's
// challenge; two vaults answering together would otherwise make two
// requests for the same token, since the identity's credential caches a
// token only once it has it. And the Key Vault token is asked for before
// any challenge (prefetch), so that the token request and the challenge
// overlap; the challenge's own ask then joins it. A failed request is
// remembered too, for the rest of the Fetch, so that a hundred references
// to a vault whose token cannot be had cost one request, not a hundred;
// the end of the caller's context is not remembered.
type sharedTokens struct {
	cred azcore.TokenCredential
	// tenant is the identity's tenant: an ask without a tenant means it.
	tenant string

	mu    sync.Mutex
	calls map[string]*tokenCall
}

// tokenCall is one token request, done or in flight.
type tokenCall struct {
	done chan struct{}
	tok  azcore.AccessToken
	err  error
}

// minValidity is how long a remembered token must still be valid to be
// served again; below it, the credential is asked anew.
const minValidity = time.Minute

func newSharedTokens(cred azcore.TokenCredential, tenant string) *sharedTokens {
	return &sharedTokens{cred: cred, tenant: tenant, calls: make(map[string]*tokenCall)}
}

// key identifies what a token request asks for: the tenant (the
// identity's when the ask names none), the scopes, claims and CAE.
func (s *sharedTokens) key(o policy.TokenRequestOptions) string {
	tenant := o.TenantID
	if tenant == "" {
		tenant = s.tenant
	}
	cae := "0"
	if o.EnableCAE {
		cae = "1"
	}
	return strings.ToLower(tenant) + "\x00" + strings.Join(o.Scopes, " ") + "\x00" + o.Claims + "\x00" + cae
}

// GetToken implements azcore.TokenCredential.
func (s *sharedTokens) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if o.Claims != "" {
		// A claims challenge means the vault refused the token it was
		// given: ask the credential, never serve what is remembered.
		return s.cred.GetToken(ctx, o)
	}
	k := s.key(o)
	for {
		s.mu.Lock()
		c := s.calls[k]
		if c == nil || c.stale() {
			c = &tokenCall{done: make(chan struct{})}
			s.calls[k] = c
			s.mu.Unlock()
			s.run(ctx, k, c, o)
			return c.tok, c.err
		}
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
		if c.err == nil || !isContextError(c.err) {
			return c.tok, c.err
		}
		// The call ended with its caller's context, not with an answer:
		// try again under this caller's.
	}
}

// run makes the request of call c, and forgets it if it ended with the
// caller's context.
func (s *sharedTokens) run(ctx context.Context, k string, c *tokenCall, o policy.TokenRequestOptions) {
	c.tok, c.err = s.cred.GetToken(ctx, o)
	if c.err != nil && isContextError(c.err) {
		s.mu.Lock()
		if s.calls[k] == c {
			delete(s.calls, k)
		}
		s.mu.Unlock()
	}
	close(c.done)
}

// stale reports a finished call whose token is about to expire. Callers
// hold the sharedTokens' lock.
func (c *tokenCall) stale() bool {
	select {
	case <-c.done:
		return c.err == nil && time.Until(c.tok.ExpiresOn) < minValidity
	default:
		return false
	}
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// prefetch asks for the token that a vault of the identity's own tenant
// will ask for after its challenge, while the challenges are on their
// way. The token goes nowhere: it is only handed to a vault client after
// that client's challenge passed its checks and named exactly this tenant
// and scope. A vault in another tenant asks for another token, and this
// one is wasted (one request, at the same time as the challenge).
func (s *sharedTokens) prefetch(ctx context.Context, scope string) {
	if s.tenant == "" || scope == "" {
		return
	}
	go func() {
		_, _ = s.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}, TenantID: s.tenant})
	}()
}
