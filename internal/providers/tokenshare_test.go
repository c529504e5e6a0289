package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/tests/fakeazure"
)

// slowCred answers after release is closed, counting the calls per key.
type slowCred struct {
	release chan struct{}
	calls   atomic.Int32
	err     error
}

func (c *slowCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := c.calls.Add(1)
	select {
	case <-c.release:
	case <-ctx.Done():
		return azcore.AccessToken{}, ctx.Err()
	}
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: fmt.Sprintf("token-%d", n), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestSharedTokensOneRequestPerTenantAndScope(t *testing.T) {
	c := &slowCred{release: make(chan struct{})}
	s := newSharedTokens(c, "Tenant-A")
	s.prefetch(context.Background(), "https://vault.azure.net/.default")
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		// The challenge names the identity's tenant, in whatever case; or
		// no tenant at all, which means the identity's.
		tenant := []string{"tenant-a", "TENANT-A", ""}[i%3]
		wg.Go(func() {
			tok, err := s.GetToken(context.Background(), policy.TokenRequestOptions{
				Scopes: []string{"https://vault.azure.net/.default"}, TenantID: tenant})
			if err != nil {
				t.Error(err)
			}
			got[i] = tok.Token
		})
	}
	time.Sleep(10 * time.Millisecond) // let them queue; correctness does not depend on it
	close(c.release)
	wg.Wait()
	if n := c.calls.Load(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	for i, g := range got {
		if g != "token-1" {
			t.Errorf("caller %d got %q", i, g)
		}
	}
	// Another tenant or scope is another request.
	if _, err := s.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}, TenantID: "tenant-b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}}); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 3 {
		t.Errorf("%d token requests, want 3", n)
	}
	// A claims challenge is always asked anew.
	if _, err := s.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}, Claims: "{}"}); err != nil {
		t.Fatal(err)
	}
	if n := c.calls.Load(); n != 4 {
		t.Errorf("%d token requests after a claims challenge, want 4", n)
	}
}

func TestSharedTokensRemembersFailuresButNotCancellation(t *testing.T) {
	c := &slowCred{release: make(chan struct{}), err: errors.New("AADSTS7000215: Invalid client secret provided")}
	close(c.release)
	s := newSharedTokens(c, "t")
	o := policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}}
	for range 5 {
		if _, err := s.GetToken(context.Background(), o); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Fatalf("got %v", err)
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Errorf("%d token requests for a failing credential, want 1", n)
	}

	c = &slowCred{release: make(chan struct{})}
	s = newSharedTokens(c, "t")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.GetToken(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	close(c.release)
	if tok, err := s.GetToken(context.Background(), o); err != nil || tok.Token != "token-2" {
		t.Errorf("after a cancelled ask: %q %v, want a new request", tok.Token, err)
	}
}

// TestFetchOverlapsChallengeAndToken: the Key Vault token is asked for
// before any challenge is answered, each vault draws exactly one
// challenge however many references it has, and the whole Fetch costs
// one token request for the vaults' tenant and scope.
func TestFetchOverlapsChallengeAndToken(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{Latency: 20 * time.Millisecond}, "kv1", "kv2")
	var refs []Reference
	for i := range 40 {
		vault := []string{"kv1", "kv2"}[i%2]
		name := fmt.Sprintf("s%02d", i)
		x.set(t, vault, name, "", "value-"+name)
		refs = append(refs, x.ref(t, vault, name, ""))
	}
	var firstToken atomic.Int64
	x.f.TenantID = x.s.Tenant()
	x.f.Credential = credFunc(func(o policy.TokenRequestOptions) (azcore.AccessToken, error) {
		firstToken.CompareAndSwap(0, int64(len(x.s.Requests()))+1)
		return x.cred.GetToken(context.Background(), o)
	})
	for i, r := range x.f.Fetch(context.Background(), refs) {
		if r.Err != nil || r.Value.Reveal() != "value-"+refs[i].Secret {
			t.Fatalf("%s: %q %v", refs[i].Secret, r.Value.Reveal(), r.Err)
		}
	}
	if firstToken.Load() != 1 {
		t.Errorf("the token was asked for after %d requests had ended, want before the first challenge's answer", firstToken.Load()-1)
	}
	challenges := 0
	for _, r := range x.s.Requests() {
		if r.Status == http.StatusUnauthorized {
			challenges++
		}
	}
	if challenges != 2 {
		t.Errorf("%d challenges, want one per vault (2)", challenges)
	}
	if n := x.s.CountRequests(fakeazure.KindKV); n != 42 {
		t.Errorf("%d requests to the vaults, want 40 and 2 challenges", n)
	}
	if len(x.cred.calls) != 1 || x.cred.calls[x.s.Tenant()+" https://vault.azure.net/.default"] != 1 {
		t.Errorf("token requests %v, want one for the vaults' tenant and scope", x.cred.calls)
	}
}
