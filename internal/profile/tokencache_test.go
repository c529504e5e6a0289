package profile

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/azexec/azexec/internal/keyring"
)

// countingCredential issues a new token per call and counts the calls.
type countingCredential struct {
	calls atomic.Int32
	ttl   time.Duration
	err   error
}

func (c *countingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	n := c.calls.Add(1)
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	ttl := c.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	return azcore.AccessToken{Token: "token-" + string(rune('0'+n)), ExpiresOn: time.Now().Add(ttl)}, nil
}

func memCache(mem *memKeyring) *TokenCache {
	return NewTokenCache(func() (*Keyring, error) { return &Keyring{Backend: "mem", kr: mem}, nil }, nil)
}

var armScope = policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}}

const (
	tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	client = "0b4e3f7c-1111-2222-3333-444455556666"
)

func get(t *testing.T, cred azcore.TokenCredential, o policy.TokenRequestOptions) string {
	t.Helper()
	tok, err := cred.GetToken(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// TestTokenCacheAcrossProcesses: a second cache on the same keyring (a
// second azexec process) is served without calling the credential.
func TestTokenCacheAcrossProcesses(t *testing.T) {
	mem := newMemKeyring()
	id := ServicePrincipalIdentity(tenant, client)
	binding := Binding(id, "https://login.microsoftonline.com/", "secret")
	first := &countingCredential{}
	tok := get(t, memCache(mem).Wrap(id, tenant, binding, first), armScope)
	second := &countingCredential{}
	if got := get(t, memCache(mem).Wrap(id, tenant, binding, second), armScope); got != tok {
		t.Errorf("second process got %q, want the cached %q", got, tok)
	}
	if first.calls.Load() != 1 || second.calls.Load() != 0 {
		t.Errorf("calls: first %d, second %d", first.calls.Load(), second.calls.Load())
	}
	keys, _ := mem.Keys()
	want := "token:" + identityHash(id) + ":" + tenant + ":https://management.azure.com/.default"
	if len(keys) != 1 || keys[0] != want {
		t.Errorf("entries = %q, want [%q]", keys, want)
	}
	if strings.Contains(string(mem.items[want].Data), "secret") {
		t.Error("the entry holds the credential")
	}
}

// TestTokenCacheNeverServesAnotherIdentityOrCredential: another client,
// another secret, another authority or another tenant each miss.
func TestTokenCacheNeverServesAnotherIdentityOrCredential(t *testing.T) {
	mem := newMemKeyring()
	id := ServicePrincipalIdentity(tenant, client)
	auth := "https://login.microsoftonline.com/"
	get(t, memCache(mem).Wrap(id, tenant, Binding(id, auth, "secret"), &countingCredential{}), armScope)

	other := ServicePrincipalIdentity(tenant, "ffffffff-1111-2222-3333-444455556666")
	cases := map[string]struct {
		id, binding string
		o           policy.TokenRequestOptions
	}{
		"other client":    {other, Binding(other, auth, "secret"), armScope},
		"other secret":    {id, Binding(id, auth, "rotated"), armScope},
		"other authority": {id, Binding(id, "https://login.example.test/", "secret"), armScope},
		"other tenant":    {id, Binding(id, auth, "secret"), policy.TokenRequestOptions{Scopes: armScope.Scopes, TenantID: "other-tenant"}},
		"other scope":     {id, Binding(id, auth, "secret"), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}}},
		"cae":             {id, Binding(id, auth, "secret"), policy.TokenRequestOptions{Scopes: armScope.Scopes, EnableCAE: true}},
		"claims":          {id, Binding(id, auth, "secret"), policy.TokenRequestOptions{Scopes: armScope.Scopes, Claims: `{"access_token":{}}`}},
	}
	for name, c := range cases {
		cred := &countingCredential{}
		get(t, memCache(mem).Wrap(c.id, tenant, c.binding, cred), c.o)
		if cred.calls.Load() != 1 {
			t.Errorf("%s: served from the cache", name)
		}
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	mem := newMemKeyring()
	id := ServicePrincipalIdentity(tenant, client)
	short := &countingCredential{ttl: TokenMargin - time.Second}
	c := memCache(mem)
	get(t, c.Wrap(id, tenant, "b", short), armScope)
	if keys, _ := mem.Keys(); len(keys) != 0 {
		t.Errorf("a token about to expire was cached: %v", keys)
	}
	get(t, c.Wrap(id, tenant, "b", &countingCredential{}), armScope)
	later := memCache(mem)
	later.now = func() time.Time { return time.Now().Add(56 * time.Minute) }
	cred := &countingCredential{}
	get(t, later.Wrap(id, tenant, "b", cred), armScope)
	if cred.calls.Load() != 1 {
		t.Error("a token within TokenMargin of expiry was served")
	}
}

// TestTokenCacheOffWhenKeyringFails: the command still gets its token.
func TestTokenCacheOffWhenKeyringFails(t *testing.T) {
	c := NewTokenCache(func() (*Keyring, error) { return nil, errors.New("locked") }, nil)
	cred := &countingCredential{}
	get(t, c.Wrap("id", tenant, "b", cred), armScope)
	get(t, c.Wrap("id", tenant, "b", cred), armScope)
	if cred.calls.Load() != 2 {
		t.Errorf("calls = %d", cred.calls.Load())
	}
	failing := newMemKeyring()
	failing.onSet = func(keyring.Item) error { return errors.New("disk full") }
	cred = &countingCredential{}
	get(t, memCache(failing).Wrap("id", tenant, "b", cred), armScope)
}

func TestTokenCacheErrorsAreNotCached(t *testing.T) {
	mem := newMemKeyring()
	cred := &countingCredential{err: errors.New("AADSTS7000215: invalid client secret")}
	if _, err := memCache(mem).Wrap("id", tenant, "b", cred).GetToken(context.Background(), armScope); err == nil {
		t.Fatal("no error")
	}
	if keys, _ := mem.Keys(); len(keys) != 0 {
		t.Errorf("entries after an error: %v", keys)
	}
}

func TestClearTokens(t *testing.T) {
	mem := newMemKeyring()
	for _, k := range []string{"profile:dev", "token:aaaa:t:s", "token:bbbb:t:s"} {
		_ = mem.Set(keyring.Item{Key: k})
	}
	k := &Keyring{Backend: "mem", kr: mem}
	if n, err := ClearTokens(k, "token:aaaa:"); n != 1 || err != nil {
		t.Errorf("ClearTokens(one identity) = %d, %v", n, err)
	}
	if n, err := ClearTokens(k, ""); n != 1 || err != nil {
		t.Errorf("ClearTokens(all) = %d, %v", n, err)
	}
	if !mem.has("profile:dev") {
		t.Error("a profile secret was cleared with the tokens")
	}
}
