package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/resolve"
)

// Attacks on the emulator rule (see emulator.go): a listener on a local
// port posing as a Key Vault emulator must never receive a token for
// another audience, nor any token without the user's consent, and a name
// that resolves off loopback must never be connected to.

func TestParseEmulator(t *testing.T) {
	for in, want := range map[string]string{
		"localhost:8443": "localhost:8443", "LocalHost:08443": "localhost:8443",
		"127.0.0.1:1": "127.0.0.1:1", "[::1]:8443": "[::1]:8443", "[0:0:0:0:0:0:0:1]:8443": "[::1]:8443",
		"emu.localhost:8443": "emu.localhost:8443", "127.9.9.9:65535": "127.9.9.9:65535",
	} {
		if got, err := ParseEmulator(in); err != nil || got != want {
			t.Errorf("ParseEmulator(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "localhost", "localhost:", "localhost:0", "localhost:65536", "127.0.0.1", "::1:8443",
		"10.0.0.1:8443", "example.com:8443", "localhost.example.com:1", "https://localhost:8443",
		"[fe80::1%lo]:1", "0.0.0.0:8443", ":8443", "evil.localhost.:1",
	} {
		if got, err := ParseEmulator(in); err == nil {
			t.Errorf("ParseEmulator(%q) = %q, want an error", in, got)
		}
	}
}

func TestEmulatorsAllowOnlyWhatIsNamed(t *testing.T) {
	e, err := NewEmulators([]string{"localhost:8443, 127.0.0.1:9000", "[::1]:443"})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]bool{
		"keyvault://localhost:8443/x":                                     true,
		"keyvault://LOCALHOST:8443/x":                                     true,
		"@Microsoft.KeyVault(VaultName=127.0.0.1:9000;SecretName=x)":      true,
		"@Microsoft.KeyVault(SecretUri=https://[::1]/secrets/x)":          true, // port 443
		"keyvault://myvault/x":                                            true, // a real vault needs no consent
		"keyvault://myvault.vault.azure.cn/x":                             true,
		"keyvault://localhost:8444/x":                                     false,
		"keyvault://127.0.0.1:8443/x":                                     false, // not the same name
		"keyvault://localhost/x":                                          false,
		"keyvault://evil.localhost:8443/x":                                false,
		"@Microsoft.KeyVault(SecretUri=https://127.0.0.2:9000/secrets/x)": false,
	} {
		r, err := ParseReference(ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got := e.Allows(r); got != want {
			t.Errorf("Allows(%s) = %v, want %v", ref, got, want)
		}
	}
	if _, err := NewEmulators([]string{"localhost:1,example.com:1"}); err == nil {
		t.Error("a non-loopback host was accepted in a list")
	}
	var none Emulators
	if r, _ := ParseReference("keyvault://localhost:8443/x"); none.Allows(r) {
		t.Error("no consent allowed an emulator")
	}
}

// FuzzParseEmulator: no panic; whatever is accepted is a loopback
// HOST:PORT in canonical form, which parses to itself.
func FuzzParseEmulator(f *testing.F) {
	for _, s := range []string{"localhost:8443", "[::1]:1", "127.0.0.1:08443", "a.localhost:1", "x:1", "[::1]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEmulator(s)
		if err != nil {
			return
		}
		if again, err := ParseEmulator(got); err != nil || again != got || !isLoopbackHost(got) {
			t.Fatalf("%q gave %q, which parses to %q (%v)", s, got, again, err)
		}
	})
}

func TestLoopbackOnlyRefusesEveryOtherAddress(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:443": true, "127.3.2.1:1": true, "[::1]:8443": true, "[::ffff:127.0.0.1]:1": true,
		"192.0.2.7:443": false, "[2001:db8::1]:443": false, "0.0.0.0:443": false, "[::]:1": false,
		"10.0.0.1:8443": false, "169.254.169.254:80": false, "localhost:443": false, "[fe80::1%lo]:1": false,
	} {
		err := loopbackOnly("tcp", addr, nil)
		var nl *NotLoopbackError
		if ok != (err == nil) || !ok && !errors.As(err, &nl) {
			t.Errorf("loopbackOnly(%s) = %v", addr, err)
		}
	}
}

// listen is a loopback listener that counts the connections it accepts.
func listen(t *testing.T) (port string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, accepted
}

func resolvesTo(ips ...string) lookupFunc {
	return func(_ context.Context, host string) ([]net.IPAddr, error) {
		var out []net.IPAddr
		for _, ip := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
		}
		return out, nil
	}
}

// A consented name such as evil.localhost that DNS points elsewhere is
// refused before any connection: not even its loopback addresses are
// tried, and nothing is sent to the others (192.0.2.0/24 is TEST-NET-1).
func TestEmulatorDialerRefusesANameOffLoopback(t *testing.T) {
	port, accepted := listen(t)
	for _, ips := range [][]string{{"192.0.2.7"}, {"127.0.0.1", "192.0.2.7"}, {"2001:db8::1", "::1"}} {
		d := emulatorDialer{lookup: resolvesTo(ips...)}
		c, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("evil.localhost", port))
		var nl *NotLoopbackError
		if err == nil || !errors.As(err, &nl) || nl.Host != "evil.localhost" {
			if c != nil {
				_ = c.Close()
			}
			t.Errorf("%v: dialed (%v)", ips, err)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback listener", n)
	}
	d := emulatorDialer{lookup: resolvesTo("127.0.0.1")}
	c, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("emu.localhost", port))
	if err != nil {
		t.Fatalf("a name on loopback: %v", err)
	}
	_ = c.Close()
}

// The whole Fetcher, production transport: a consented evil.localhost
// that resolves to a non-loopback address fails with a clear reason, and
// no token is asked for.
func TestFetchRefusesConsentedNameOffLoopback(t *testing.T) {
	cred := &countingCred{}
	r, err := ParseReference("keyvault://evil.localhost:8443/db")
	if err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{Credential: cred, Cloud: resolve.Clouds["public"], Emulators: Emulators{"evil.localhost:8443": true},
		lookup: resolvesTo("192.0.2.7"), RetryDelay: time.Millisecond}
	e := f.Fetch(context.Background(), []Reference{r})[0].Err
	if e == nil || !strings.Contains(e.Reason, "evil.localhost: it resolves to 192.0.2.7, not a loopback address") {
		t.Errorf("got %v", e)
	}
	if n := cred.calls.Load(); n != 0 {
		t.Errorf("%d token requests", n)
	}
}

// countingCred hands out a marker token and counts what it was asked.
type countingCred struct {
	calls  atomic.Int32
	mu     sync.Mutex
	scopes []string
}

const markerToken = "marker-token-that-must-not-leave"

func (c *countingCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	c.mu.Lock()
	c.scopes = append(c.scopes, strings.Join(o.Scopes, " "))
	c.mu.Unlock()
	return azcore.AccessToken{Token: markerToken, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// posingEmulator is a TLS listener on loopback that answers every request
// without a token with challenge, and records every Authorization header.
type posingEmulator struct {
	srv   *httptest.Server
	mu    sync.Mutex
	auth  []string
	count int
}

func newPosingEmulator(t *testing.T, challenge string) *posingEmulator {
	p := &posingEmulator{}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.count++
		if a := r.Header.Get("Authorization"); a != "" {
			p.auth = append(p.auth, a)
		}
		p.mu.Unlock()
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", challenge)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"value":"emulated","id":"%s/secrets/db/0123456789abcdef0123456789abcdef"}`, p.srv.URL)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *posingEmulator) host() string { return strings.TrimPrefix(p.srv.URL, "https://") }

func (p *posingEmulator) seen() (requests int, auth []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count, append([]string(nil), p.auth...)
}

const tenantURL = `authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"`

func TestEmulatorChallengeForAnotherAudienceGetsNoToken(t *testing.T) {
	for name, challenge := range map[string]string{
		"arm":            `Bearer ` + tenantURL + `, resource="https://management.azure.com"`,
		"arm/.default":   `Bearer ` + tenantURL + `, resource="https://management.azure.com/.default"`,
		"graph":          `Bearer ` + tenantURL + `, resource="https://graph.microsoft.com"`,
		"graph scope":    `Bearer ` + tenantURL + ` resource="https://vault.azure.net" scope="https://graph.microsoft.com/.default"`,
		"trailing slash": `Bearer ` + tenantURL + `, resource="https://vault.azure.net/"`,
		"other cloud":    `Bearer ` + tenantURL + `, resource="https://vault.azure.cn"`,
		"vault subpath":  `Bearer ` + tenantURL + `, resource="https://vault.azure.net/x"`,
		"no tenant":      `Bearer authorization="x", resource="https://vault.azure.net"`,
	} {
		t.Run(name, func(t *testing.T) {
			p := newPosingEmulator(t, challenge)
			cred := &countingCred{}
			r, err := ParseReference("keyvault://" + p.host() + "/db")
			if err != nil {
				t.Fatal(err)
			}
			f := &Fetcher{Credential: cred, Cloud: resolve.Clouds["public"], Transport: p.srv.Client(), EmulatorTransport: p.srv.Client(),
				Emulators: Emulators{p.host(): true}, RetryDelay: time.Millisecond}
			res := f.Fetch(context.Background(), []Reference{r})[0]
			if res.Err == nil {
				t.Fatalf("read %q", res.Value.Reveal())
			}
			n, auth := p.seen()
			if len(auth) != 0 || cred.calls.Load() != 0 {
				t.Errorf("the listener received %d Authorization headers; %d token requests (%v)", len(auth), cred.calls.Load(), cred.scopes)
			}
			if n != 1 {
				t.Errorf("%d requests, want the one that drew the challenge (no retries)", n)
			}
			if name != "no tenant" && !strings.Contains(res.Err.Reason, "not for Key Vault (https://vault.azure.net)") {
				t.Errorf("reason %q", res.Err.Reason)
			}
		})
	}
}

// The credential guard holds on its own, whatever a challenge said.
func TestAudienceOnlyRefusesOtherScopes(t *testing.T) {
	cred := &countingCred{}
	g := audienceOnly{TokenCredential: cred, audience: "https://vault.azure.net"}
	for _, scopes := range [][]string{
		{"https://management.azure.com/.default"}, {"https://graph.microsoft.com/.default"},
		{"https://vault.azure.net"}, {"https://vault.azure.net//.default"}, {},
		{"https://vault.azure.net/.default", "https://management.azure.com/.default"},
	} {
		if _, err := g.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: scopes}); err == nil {
			t.Errorf("%v: token", scopes)
		}
	}
	if n := cred.calls.Load(); n != 0 {
		t.Errorf("%d requests reached the credential", n)
	}
	if _, err := g.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}}); err != nil {
		t.Error(err)
	}
}

func TestEmulatorWithoutConsentGetsNoRequest(t *testing.T) {
	p := newPosingEmulator(t, `Bearer `+tenantURL+`, resource="https://vault.azure.net"`)
	cred := &countingCred{}
	r, _ := ParseReference("keyvault://" + p.host() + "/db")
	f := &Fetcher{Credential: cred, Cloud: resolve.Clouds["public"], Transport: p.srv.Client(), EmulatorTransport: p.srv.Client(),
		Emulators: Emulators{"localhost:1": true}}
	e := f.Fetch(context.Background(), []Reference{r})[0].Err
	if e == nil || !strings.Contains(e.Hint, "--keyvault-emulator "+p.host()) {
		t.Errorf("got %v", e)
	}
	if n, _ := p.seen(); n != 0 || cred.calls.Load() != 0 {
		t.Errorf("%d requests, %d token requests", n, cred.calls.Load())
	}
}

// The positive case: a consented emulator that challenges for the Key
// Vault audience of the selected cloud gets that token, and only that.
func TestConsentedEmulatorGetsTheVaultToken(t *testing.T) {
	for _, cloud := range []string{"public", "china"} {
		aud := resolve.Clouds[cloud].KeyVaultAudience
		p := newPosingEmulator(t, `Bearer `+tenantURL+`, resource="`+aud+`"`)
		cred := &countingCred{}
		r, _ := ParseReference("keyvault://" + p.host() + "/db")
		f := &Fetcher{Credential: cred, Cloud: resolve.Clouds[cloud], Transport: p.srv.Client(), EmulatorTransport: p.srv.Client(), Emulators: Emulators{p.host(): true}}
		res := f.Fetch(context.Background(), []Reference{r})[0]
		if res.Err != nil || res.Value.Reveal() != "emulated" {
			t.Fatalf("%s: %v", cloud, res.Err)
		}
		_, auth := p.seen()
		if len(cred.scopes) != 1 || cred.scopes[0] != aud+"/.default" || len(auth) != 1 || auth[0] != "Bearer "+markerToken {
			t.Errorf("%s: scopes %v, %d Authorization headers", cloud, cred.scopes, len(auth))
		}
	}
}
