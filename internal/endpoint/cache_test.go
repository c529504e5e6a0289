package endpoint

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/hashicorp/go-hclog"
)

// slowCred answers after delay with a numbered token living ttl, and
// counts its calls; it fails while failing is set.
type slowCred struct {
	delay, ttl time.Duration
	calls      atomic.Int32
	failing    atomic.Bool
}

func (c *slowCred) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := c.calls.Add(1)
	select {
	case <-time.After(c.delay):
	case <-ctx.Done():
		return azcore.AccessToken{}, ctx.Err()
	}
	if c.failing.Load() {
		return azcore.AccessToken{}, errors.New("upstream down")
	}
	return azcore.AccessToken{Token: "tok-" + strconv.Itoa(int(n)), ExpiresOn: time.Now().Add(c.ttl)}, nil
}

// TestCacheCoalescesBurst: 64 requests at once for a scope not cached
// cost one upstream request, and all get its token.
func TestCacheCoalescesBurst(t *testing.T) {
	cred := &slowCred{delay: 200 * time.Millisecond, ttl: time.Hour}
	c := newTokenCache(cred, hclog.NewNullLogger())
	defer c.close()
	var wg sync.WaitGroup
	start := make(chan struct{})
	var bad atomic.Int32
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, _, err := c.get(context.Background(), "s")
			if err != nil || tok.Token != "tok-1" {
				bad.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := cred.calls.Load(); n != 1 || bad.Load() != 0 {
		t.Errorf("a burst of 64 cost %d upstream requests (%d failed), want 1", n, bad.Load())
	}
	if _, hit, _ := c.get(context.Background(), "s"); !hit {
		t.Error("the next request missed the cache")
	}
}

// TestCacheRenewsAhead: a token that was used is renewed in the
// background before it expires, and requests meanwhile are answered from
// the cache without waiting; one nobody used since is not renewed.
func TestCacheRenewsAhead(t *testing.T) {
	cred := &slowCred{delay: 300 * time.Millisecond, ttl: 2 * time.Second}
	c := newTokenCache(cred, hclog.NewNullLogger())
	c.ahead, c.minServe, c.retry = 1500*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond
	defer c.close()
	ctx := context.Background()
	if tok, hit, err := c.get(ctx, "s"); err != nil || hit || tok.Token != "tok-1" {
		t.Fatalf("first get: %v %v %v", tok.Token, hit, err)
	}
	// Renewal is due at half the life (1 s): until the new token is in,
	// requests get the old one at once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		begin := time.Now()
		tok, hit, err := c.get(ctx, "s")
		if err != nil || !hit {
			t.Fatalf("get during renewal: hit %v, %v", hit, err)
		}
		if d := time.Since(begin); d > 100*time.Millisecond {
			t.Fatalf("a request waited %s for the renewal", d)
		}
		if tok.Token == "tok-2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not renewed; calls %d", cred.calls.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// tok-2 was just served, so it is renewed in turn; tok-3 is served to
	// nobody, so it is not.
	for cred.calls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := cred.calls.Load(); n != 3 {
		t.Errorf("%d upstream requests, want 3: a token nobody asked for was renewed, or a used one was not", n)
	}
}

// TestCacheFailureIsNotCached: a failed fetch is not remembered, and the
// next request asks again.
func TestCacheFailureIsNotCached(t *testing.T) {
	cred := &slowCred{ttl: time.Hour}
	cred.failing.Store(true)
	c := newTokenCache(cred, hclog.NewNullLogger())
	defer c.close()
	if _, _, err := c.get(context.Background(), "s"); err == nil {
		t.Fatal("no error from a failing credential")
	}
	cred.failing.Store(false)
	if tok, hit, err := c.get(context.Background(), "s"); err != nil || hit || tok.Token != "tok-2" {
		t.Errorf("after recovery: %q %v %v", tok.Token, hit, err)
	}
}
