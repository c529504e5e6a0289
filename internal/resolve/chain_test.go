package resolve

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/fail"
)

// stubCred answers GetToken with a fixed token or error and counts calls.
type stubCred struct {
	token string
	err   error
	calls atomic.Int32
	delay time.Duration
}

func (c *stubCred) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	time.Sleep(c.delay)
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// stubSource is a source with a scripted Load.
type stubSource struct {
	name    string
	loadErr error
	cred    *stubCred
	cont    bool
	loaded  *bool
}

func (s stubSource) Name() string { return s.name }

func (s stubSource) Load(*Config) (*Candidate, error) {
	if s.loaded != nil {
		*s.loaded = true
	}
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	return &Candidate{Credential: s.cred, Continue: s.cont, Identity: Identity{Cloud: Clouds["public"]}}, nil
}

func jwt(payload string) string {
	enc := func(s string) string {
		return strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(b64(s)), "=")
	}
	return enc(`{"alg":"none"}`) + "." + enc(payload) + ".sig"
}

func TestChainSkipsUnavailableAndStopsAtFirstSuccess(t *testing.T) {
	var laterLoaded bool
	ok := &stubCred{token: jwt(`{"tid":"t1","oid":"o1","appid":"a1"}`)}
	ch := &Chain{Sources: []Source{
		stubSource{name: "one", loadErr: unavailable("not configured")},
		stubSource{name: "two", cred: ok},
		stubSource{name: "three", cred: &stubCred{token: "x"}, loaded: &laterLoaded},
	}}
	id, attempts, err := ch.Resolve(context.Background(), &Config{})
	if err != nil {
		t.Fatal(err)
	}
	if id.Source != "two" || id.TenantID != "t1" || id.ObjectID != "o1" || id.ClientID != "a1" {
		t.Errorf("identity = %+v", id)
	}
	if len(attempts) != 2 || attempts[0].Status != StatusSkipped || attempts[0].Reason != "not configured" || attempts[1].Status != StatusOK {
		t.Errorf("attempts = %+v", attempts)
	}
	if laterLoaded {
		t.Error("a source after the winner was loaded")
	}
}

func TestChainStopsOnAuthenticationFailure(t *testing.T) {
	var laterLoaded bool
	bad := &stubCred{err: errors.New("ClientSecretCredential: authentication failed\nAADSTS7000215: Invalid client secret provided. Ensure the secret...\nTrace ID: x")}
	ch := &Chain{Sources: []Source{
		stubSource{name: "env", cred: bad},
		stubSource{name: "cli", cred: &stubCred{token: "x"}, loaded: &laterLoaded},
	}}
	_, _, err := ch.Resolve(context.Background(), &Config{})
	var ce *ChainError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ChainError", err)
	}
	if fail.KindOf(err) != fail.Identity {
		t.Errorf("kind = %v", fail.KindOf(err))
	}
	if !strings.Contains(err.Error(), "AADSTS7000215: Invalid client secret provided.") || strings.Contains(err.Error(), "Trace ID") {
		t.Errorf("message = %q", err)
	}
	if !strings.Contains(fail.HintOf(err), "secret") {
		t.Errorf("hint = %q", fail.HintOf(err))
	}
	if laterLoaded {
		t.Error("chain went on after an authentication failure")
	}
}

func TestChainContinuesAfterDeveloperLoginFailure(t *testing.T) {
	ch := &Chain{Sources: []Source{
		stubSource{name: "cli", cred: &stubCred{err: errors.New("AzureCLICredential: ERROR: Please run 'az login' to setup account.")}, cont: true},
		stubSource{name: "azd", cred: &stubCred{token: jwt(`{"tid":"t"}`)}, cont: true},
	}}
	id, attempts, err := ch.Resolve(context.Background(), &Config{})
	if err != nil {
		t.Fatal(err)
	}
	if id.Source != "azd" {
		t.Errorf("source = %q", id.Source)
	}
	if attempts[0].Status != StatusFailed || attempts[0].Reason != "not logged in to the Azure CLI" || attempts[0].Hint == "" {
		t.Errorf("cli attempt = %+v", attempts[0])
	}
}

func TestChainConfigErrorStops(t *testing.T) {
	ch := &Chain{Sources: []Source{
		stubSource{name: "auth-file", loadErr: &fail.Error{Kind: fail.Identity, Msg: "auth file \"x\": missing tenantId", Hint: "h"}},
		stubSource{name: "cli", cred: &stubCred{token: "x"}},
	}}
	_, attempts, err := ch.Resolve(context.Background(), &Config{})
	if err == nil || len(attempts) != 1 || attempts[0].Status != StatusFailed || fail.HintOf(err) != "h" {
		t.Fatalf("err = %v, attempts = %+v", err, attempts)
	}
}

func TestChainNothingConfigured(t *testing.T) {
	ch := &Chain{Sources: []Source{
		stubSource{name: "env", loadErr: unavailable("a")},
		stubSource{name: "cli", loadErr: unavailable("az not found on PATH")},
	}}
	_, attempts, err := ch.Resolve(context.Background(), &Config{})
	if err == nil || !strings.Contains(err.Error(), "no azure identity found") || len(attempts) != 2 {
		t.Fatalf("err = %v attempts = %+v", err, attempts)
	}
	if !strings.Contains(fail.HintOf(err), "env, cli") {
		t.Errorf("hint = %q", fail.HintOf(err))
	}
}

func TestChainProbeUnavailableSkips(t *testing.T) {
	cred := &stubCred{token: "x"}
	src := probeSource{cred: cred}
	ch := &Chain{Sources: []Source{src}}
	_, attempts, err := ch.Resolve(context.Background(), &Config{})
	if err == nil || attempts[0].Status != StatusSkipped || cred.calls.Load() != 0 {
		t.Fatalf("err = %v attempts = %+v calls = %d", err, attempts, cred.calls.Load())
	}
}

type probeSource struct{ cred *stubCred }

func (probeSource) Name() string { return "managed" }
func (p probeSource) Load(*Config) (*Candidate, error) {
	return &Candidate{Credential: p.cred, Probe: func(context.Context) error { return unavailable("no IMDS") }}, nil
}

func TestChainReportsSecretsAndTokens(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	tok := jwt(`{"tid":"t"}`)
	src := spSource{cred: &stubCred{token: tok}}
	ch := &Chain{Sources: []Source{src}, OnSecret: func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }}
	if _, _, err := ch.Resolve(context.Background(), &Config{}); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(seen, "|")
	if !strings.Contains(joined, "s3cret-value") || !strings.Contains(joined, tok) {
		t.Errorf("OnSecret saw %q", joined)
	}
}

type spSource struct{ cred *stubCred }

func (spSource) Name() string { return "env" }
func (s spSource) Load(*Config) (*Candidate, error) {
	return &Candidate{Credential: s.cred, Identity: Identity{SP: &ServicePrincipal{ClientSecret: "s3cret-value"}}}, nil
}

func TestCachingCredentialOneRequestPerKey(t *testing.T) {
	inner := &stubCred{token: "tok", delay: 20 * time.Millisecond}
	c := newCachingCredential(inner)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tenant := []string{"a", "b"}[i%2]
			if _, err := c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"s"}, TenantID: tenant}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if n := inner.calls.Load(); n != 2 {
		t.Errorf("inner calls = %d, want 2 (one per tenant)", n)
	}
	// Once the home tenant is known, naming it is the same entry as naming
	// no tenant.
	c.home = "h"
	c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"s"}})
	c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"s"}, TenantID: "H"})
	if n := inner.calls.Load(); n != 3 {
		t.Errorf("inner calls with the home tenant named = %d, want 3", n)
	}
	// A token about to expire is fetched again.
	c.now = func() time.Time { return time.Now().Add(56 * time.Minute) }
	c.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"s"}, TenantID: "a"})
	if n := inner.calls.Load(); n != 4 {
		t.Errorf("inner calls after expiry = %d, want 4", n)
	}
}
