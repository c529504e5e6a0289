package endpoint

import (
	"context"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/singleflight"
)

// Cache timing. refreshAhead matches the identity credential's own
// refresh margin (resolve's refreshMargin, 5 minutes), so that when the
// cache renews a token the credential below it fetches a new one instead of
// handing back the one about to be renewed. minServe is the least life a
// cached token must have left to be served without waiting: a client's SDK
// renews its own copy 5 minutes before expiry, and must get a fresh one
// then.
const (
	refreshAhead = 5 * time.Minute
	minServe     = 2 * time.Minute
	retryAfter   = 15 * time.Second
	fetchTimeout = time.Minute
)

// tokenCache holds one token per scope. A token is served from memory as
// long as it has minServe to live; it is renewed in the background
// refreshAhead before it expires, if it was used since it was fetched, so
// that no request waits for a renewal. Concurrent requests for a scope
// that is not cached wait on one upstream request (singleflight).
type tokenCache struct {
	cred azcore.TokenCredential
	log  hclog.Logger
	now  func() time.Time
	// ahead, minServe and retry are refreshAhead, minServe and retryAfter,
	// shortened by tests.
	ahead, minServe, retry time.Duration
	// ctx bounds every upstream request and background renewal; cancelled
	// by close.
	ctx    context.Context
	cancel context.CancelFunc
	group  singleflight.Group

	mu      sync.Mutex
	entries map[string]*cacheEntry
	closed  bool
}

type cacheEntry struct {
	token     azcore.AccessToken
	refreshAt time.Time
	used      bool // served since fetched: worth renewing
	timer     *time.Timer
}

func newTokenCache(cred azcore.TokenCredential, log hclog.Logger) *tokenCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &tokenCache{cred: cred, log: log, now: time.Now, ahead: refreshAhead, minServe: minServe, retry: retryAfter,
		ctx: ctx, cancel: cancel, entries: map[string]*cacheEntry{}}
}

// get returns scope's token and whether the cache answered. A request
// that has to wait gives up when its ctx ends; the upstream request goes
// on for the others waiting on it.
func (c *tokenCache) get(ctx context.Context, scope string) (azcore.AccessToken, bool, error) {
	if tok, ok := c.cached(scope); ok {
		return tok, true, nil
	}
	ch := c.group.DoChan(scope, func() (any, error) { return c.fetch(scope) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return azcore.AccessToken{}, false, r.Err
		}
		return r.Val.(azcore.AccessToken), false, nil
	case <-ctx.Done():
		return azcore.AccessToken{}, false, ctx.Err()
	}
}

// cached returns scope's token if it has minServe left, marking it used.
func (c *tokenCache) cached(scope string) (azcore.AccessToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[scope]
	if !ok || !c.now().Add(c.minServe).Before(e.token.ExpiresOn) {
		return azcore.AccessToken{}, false
	}
	e.used = true
	return e.token, true
}

// fetch asks the credential for scope's token, stores it and schedules
// its renewal. Only singleflight calls it, so one runs per scope.
func (c *tokenCache) fetch(scope string) (azcore.AccessToken, error) {
	ctx, cancel := context.WithTimeout(c.ctx, fetchTimeout)
	defer cancel()
	fetched := c.now()
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return tok, err
	}
	c.store(scope, tok, fetched)
	return tok, nil
}

// store keeps tok and arms its renewal: refreshAhead before it expires,
// but never before half its life has passed, so that a short-lived token
// is not renewed in a loop.
func (c *tokenCache) store(scope string, tok azcore.AccessToken, fetched time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	at := tok.ExpiresOn.Add(-c.ahead)
	if half := fetched.Add(tok.ExpiresOn.Sub(fetched) / 2); at.Before(half) {
		at = half
	}
	if old, ok := c.entries[scope]; ok && old.timer != nil {
		old.timer.Stop()
	}
	e := &cacheEntry{token: tok, refreshAt: at}
	e.timer = time.AfterFunc(max(at.Sub(c.now()), c.retry), func() { c.renew(scope, e) })
	c.entries[scope] = e
}

// renew fetches scope's token again in the background when e, the entry
// that armed it, was used; a failure is logged and retried while the old
// token still lives.
func (c *tokenCache) renew(scope string, e *cacheEntry) {
	c.mu.Lock()
	current := c.entries[scope] == e
	used := e.used
	c.mu.Unlock()
	if !current || !used || c.ctx.Err() != nil {
		return
	}
	_, err, _ := c.group.Do(scope, func() (any, error) { return c.fetch(scope) })
	if err == nil {
		c.log.Debug("token renewed in the background", "scope", scope)
		return
	}
	c.log.Warn("renewing a token failed; will retry", "scope", scope, "error", firstLineOf(err.Error()))
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && c.entries[scope] == e && c.now().Before(e.token.ExpiresOn) {
		e.timer = time.AfterFunc(c.retry, func() { c.renew(scope, e) })
	}
}

// close stops every renewal and cancels requests in flight.
func (c *tokenCache) close() {
	c.mu.Lock()
	c.closed = true
	for _, e := range c.entries {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	c.entries = map[string]*cacheEntry{}
	c.mu.Unlock()
	c.cancel()
}
