package providers

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/resolve"
	"github.com/azexec/azexec/tests/fakeazure"
)

// mintCredential gets tokens by minting them at the fake, counting the
// requests per tenant and scope.
type mintCredential struct {
	s      *fakeazure.Server
	client string
	mu     sync.Mutex
	calls  map[string]int
}

func (c *mintCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.calls[o.TenantID+" "+strings.Join(o.Scopes, " ")]++
	c.mu.Unlock()
	tok := c.s.MintToken(o.TenantID, c.client, strings.TrimSuffix(o.Scopes[0], "/.default"), time.Hour)
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// kvFixture is a fake Azure with vaults, and a Fetcher for it.
type kvFixture struct {
	s    *fakeazure.Server
	cred *mintCredential
	f    *Fetcher
}

func newKVFixture(t *testing.T, opts fakeazure.Options, vaults ...string) *kvFixture {
	t.Helper()
	s, err := fakeazure.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// The fake's vaults are on loopback: emulators, which the user names.
	emulators := Emulators{}
	for _, v := range vaults {
		u, err := s.AddVault(v)
		if err != nil {
			t.Fatal(err)
		}
		emulators[strings.TrimPrefix(u, "https://")] = true
	}
	cred := &mintCredential{s: s, client: "client-1", calls: map[string]int{}}
	f := &Fetcher{Credential: cred, Cloud: resolve.Clouds["public"], ObjectID: s.ObjectID(s.Tenant(), "client-1"),
		Transport: s.Client(), EmulatorTransport: s.Client(), RetryDelay: 10 * time.Millisecond, Emulators: emulators}
	return &kvFixture{s: s, cred: cred, f: f}
}

// ref is a short reference to a secret of the fake's vault.
func (x *kvFixture) ref(t *testing.T, vault, name, version string) Reference {
	t.Helper()
	v := "keyvault://" + strings.TrimPrefix(x.s.VaultURL(vault), "https://") + "/" + name
	if version != "" {
		v += "/" + version
	}
	r, err := ParseReference(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (x *kvFixture) set(t *testing.T, vault, name, version, value string) {
	t.Helper()
	if err := x.s.SetSecret(vault, name, version, value); err != nil {
		t.Fatal(err)
	}
}

func TestFetchValuesByteForByte(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1", "kv2")
	pem := "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
	values := map[string]string{"pem": pem, "trailing": "x\n\n", "unicode": "pässwörd ✓ 密码", "spaces": "  a b  ", "empty": ""}
	var refs []Reference
	var want []string
	for name, v := range values {
		x.set(t, "kv1", name, "", v)
		refs = append(refs, x.ref(t, "kv1", name, ""))
		want = append(want, v)
	}
	old, cur := strings.Repeat("a", 32), strings.Repeat("b", 32)
	x.set(t, "kv2", "versioned", old, "old value")
	x.set(t, "kv2", "versioned", cur, "current value")
	refs = append(refs, x.ref(t, "kv2", "versioned", old), x.ref(t, "kv2", "versioned", ""))
	want = append(want, "old value", "current value")

	results := x.f.Fetch(context.Background(), refs)
	for i, r := range results {
		if r.Err != nil || r.Value.Reveal() != want[i] {
			t.Errorf("%s: got %q, %v; want %q", refs[i].Secret, r.Value.Reveal(), r.Err, want[i])
		}
	}
	if v := results[len(results)-2].Version; v != old {
		t.Errorf("version of the pinned reference %q", v)
	}
	if v := results[len(results)-1].Version; v != cur {
		t.Errorf("version of the latest %q, want %q", v, cur)
	}
	if n := len(x.cred.calls); n != 1 {
		t.Errorf("token requests by tenant and scope: %v", x.cred.calls)
	}
	for k := range x.cred.calls {
		if k != x.s.Tenant()+" https://vault.azure.net/.default" {
			t.Errorf("token asked for %q: the challenge's tenant and resource are not used", k)
		}
	}
}

func TestFetchIdenticalReferencesOnce(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1")
	x.set(t, "kv1", "db", "", "s3cret-value")
	host := strings.TrimPrefix(x.s.VaultURL("kv1"), "https://")
	var refs []Reference
	for _, v := range []string{
		"keyvault://" + host + "/db", "keyvault://" + host + "/DB",
		"@Microsoft.KeyVault(VaultName=" + host + ";SecretName=db)",
		"@Microsoft.KeyVault(SecretUri=https://" + host + "/secrets/db/)",
	} {
		r, err := ParseReference(v)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	results := x.f.Fetch(context.Background(), refs)
	for i, r := range results {
		if r.Err != nil || r.Value.Reveal() != "s3cret-value" {
			t.Errorf("%d: %q %v", i, r.Value.Reveal(), r.Err)
		}
	}
	// One challenge, one authorized GET.
	if n := x.s.CountRequests(fakeazure.KindKV); n != 2 {
		t.Errorf("%d requests to the vault, want 2", n)
	}
}

func TestFetchConcurrencyIsBounded(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{Latency: 20 * time.Millisecond}, "kv1", "kv2")
	var refs []Reference
	for i := range 60 {
		vault := []string{"kv1", "kv2"}[i%2]
		name := "s" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		x.set(t, vault, name, "", "value-"+name)
		refs = append(refs, x.ref(t, vault, name, ""))
	}
	x.f.Concurrency = 5
	for i, r := range x.f.Fetch(context.Background(), refs) {
		if r.Err != nil || r.Value.Reveal() != "value-"+refs[i].Secret {
			t.Fatalf("%s: %q %v", refs[i].Secret, r.Value.Reveal(), r.Err)
		}
	}
	if p := x.s.PeakConcurrency(fakeazure.KindKV); p > 5 || p < 4 {
		t.Errorf("peak concurrency %d, want 5 (at most)", p)
	}
}

func TestFetchErrorsExplainWhatToFix(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1", "denied")
	x.set(t, "kv1", "ok", "", "fine-value")
	x.set(t, "kv1", "off", "", "disabled-value")
	if err := x.s.DisableSecret("kv1", "off", ""); err != nil {
		t.Fatal(err)
	}
	x.set(t, "denied", "db", "", "denied-value")
	if err := x.s.DenyAccess("denied", x.f.ObjectID); err != nil {
		t.Fatal(err)
	}
	refs := []Reference{
		x.ref(t, "kv1", "ok", ""),
		x.ref(t, "kv1", "missing", ""),
		x.ref(t, "kv1", "ok", ver),
		x.ref(t, "kv1", "off", ""),
		x.ref(t, "denied", "db", ""),
	}
	res := x.f.Fetch(context.Background(), refs)
	if res[0].Err != nil {
		t.Fatalf("ok: %v", res[0].Err)
	}
	checks := []struct {
		status      int
		code        string
		text, hint  string
		versionText string
	}{
		{},
		{404, "SecretNotFound", "no such secret or version", `has no secret "missing"`, "latest version"},
		{404, "SecretNotFound", "no such secret or version", "with version " + ver, "version " + ver},
		{403, "SecretDisabled", "the secret is disabled", "enable it", "latest version"},
		{403, "ForbiddenByRbac", "access denied", "object id " + x.f.ObjectID + ") lacks the Key Vault Secrets User role", "latest version"},
	}
	for i, c := range checks[1:] {
		e := res[i+1].Err
		if e == nil {
			t.Errorf("%s: no error", refs[i+1].Secret)
			continue
		}
		msg := e.Error()
		if e.Status != c.status || e.Code != c.code || !strings.Contains(msg, c.text) || !strings.Contains(e.Hint, c.hint) ||
			!strings.Contains(msg, c.versionText) || !strings.Contains(msg, `secret "`+refs[i+1].Secret+`"`) {
			t.Errorf("%s: status %d code %q\n  %s\n  hint: %s", refs[i+1].Secret, e.Status, e.Code, msg, e.Hint)
		}
		if strings.Contains(msg+e.Hint, "-value") {
			t.Errorf("a value leaked: %s %s", msg, e.Hint)
		}
	}
}

func TestFetchSurvivesThrottling(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1")
	var refs []Reference
	for i := range 40 {
		name := "s" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		x.set(t, "kv1", name, "", "v-"+name)
		refs = append(refs, x.ref(t, "kv1", name, ""))
	}
	x.s.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 30})
	x.s.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Status: http.StatusServiceUnavailable, Times: 10})
	start := time.Now()
	for i, r := range x.f.Fetch(context.Background(), refs) {
		if r.Err != nil || r.Value.Reveal() != "v-"+refs[i].Secret {
			t.Fatalf("%s: %v", refs[i].Secret, r.Err)
		}
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("done in %s: Retry-After: 1 was not honoured", d)
	}
	faults := 0
	for _, r := range x.s.Requests() {
		if r.Fault {
			faults++
		}
	}
	if faults != 40 {
		t.Errorf("%d throttled requests, want 40", faults)
	}
}

func TestFetchTimeoutNamesTheThrottling(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1")
	x.set(t, "kv1", "db", "", "v")
	x.s.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Status: http.StatusTooManyRequests, RetryAfter: "1"})
	x.f.Timeout = 1500 * time.Millisecond
	res := x.f.Fetch(context.Background(), []Reference{x.ref(t, "kv1", "db", "")})
	e := res[0].Err
	if e == nil || e.Status != 429 || !strings.Contains(e.Error(), "429 Throttled: throttled 2 times, and the next try would come after --timeout 1.5s") || !strings.Contains(e.Hint, "--concurrency") {
		t.Errorf("got %v (hint %q)", e, e.Hint)
	}
}

func TestFetchRetryAfterBeyondTimeoutFailsFast(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1")
	x.set(t, "kv1", "db", "", "v")
	x.s.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Status: http.StatusTooManyRequests, RetryAfter: "120"})
	x.f.Timeout = 10 * time.Second
	start := time.Now()
	res := x.f.Fetch(context.Background(), []Reference{x.ref(t, "kv1", "db", "")})
	if e := res[0].Err; e == nil || e.Status != 429 || !strings.Contains(e.Error(), "throttled once, and the next try would come after --timeout 10s") {
		t.Errorf("got %v", e)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waited %s for a Retry-After beyond the timeout", d)
	}
}

// redirect sends every request to the fake's vault, whatever its host:
// references can then name real vault hosts, for which the SDK's
// challenge resource check stays on.
type redirect struct {
	to string
	c  *http.Client
}

func (r redirect) Do(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Host, req.Host = r.to, ""
	return r.c.Do(req)
}

func TestFetchRealVaultNames(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1")
	x.f.Transport = redirect{to: strings.TrimPrefix(x.s.VaultURL("kv1"), "https://"), c: x.s.Client()}
	x.set(t, "kv1", "ok", "", "fine-value")
	x.set(t, "kv1", "off", "", "off-value")
	if err := x.s.DisableSecret("kv1", "off", ""); err != nil {
		t.Fatal(err)
	}
	parse := func(v string) Reference {
		r, err := ParseReference(v)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	refs := []Reference{
		parse("keyvault://myvault/ok"),
		parse("@Microsoft.KeyVault(VaultName=myvault;SecretName=missing)"),
		parse("@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/off)"),
		// The fake's challenge names https://vault.azure.net: a vault of
		// another cloud must not get that token.
		parse("keyvault://myvault.vault.azure.cn/ok"),
	}
	res := x.f.Fetch(context.Background(), refs)
	if res[0].Err != nil || res[0].Value.Reveal() != "fine-value" {
		t.Errorf("ok: %v", res[0].Err)
	}
	for i, want := range []string{
		"az keyvault secret list --vault-name myvault",
		"az keyvault secret set-attributes --vault-name myvault --name off --enabled true",
		"check that \"https://myvault.vault.azure.cn\" is a Key Vault",
	} {
		if e := res[i+1].Err; e == nil || !strings.Contains(e.Hint, want) {
			t.Errorf("%s: %v, hint %q; want %q", refs[i+1].Secret, e, e.Hint, want)
		}
	}
	if e := res[3].Err; e == nil || !strings.Contains(e.Error(), "the vault's challenge names a resource that does not match its host") {
		t.Errorf("challenge check: %v", e)
	}
	if err := x.s.DenyAccess("kv1", x.f.ObjectID); err != nil {
		t.Fatal(err)
	}
	e := x.f.Fetch(context.Background(), refs[:1])[0].Err
	want := "az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id " + x.f.ObjectID +
		" --scope $(az keyvault show --name myvault --query id -o tsv)"
	if e == nil || !strings.Contains(e.Hint, want) {
		t.Errorf("denied: %v, hint %q", e, e.Hint)
	}
}

// dnsFailure is a transport that fails name resolution, as a misspelt
// vault name does, and counts its calls.
type dnsFailure struct{ calls atomic.Int32 }

func (d *dnsFailure) Do(r *http.Request) (*http.Response, error) {
	d.calls.Add(1)
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: r.URL.Hostname(), IsNotFound: true}}
}

func TestFetchDNSFailureIsNotRetried(t *testing.T) {
	tr := &dnsFailure{}
	f := &Fetcher{Credential: &mintCredential{calls: map[string]int{}}, Cloud: resolve.Clouds["china"], Transport: tr}
	r, err := ParseReference("keyvault://no-such-vault/db")
	if err != nil {
		t.Fatal(err)
	}
	e := f.Fetch(context.Background(), []Reference{r})[0].Err
	if e == nil || e.Status != 0 || !strings.Contains(e.Error(), `no response: cannot resolve host "no-such-vault.vault.azure.cn"`) ||
		!strings.Contains(e.Hint, `check the vault name "no-such-vault" (in the china cloud its host is no-such-vault.vault.azure.cn)`) {
		t.Errorf("got %v (hint %q)", e, e.Hint)
	}
	if n := tr.calls.Load(); n != 1 {
		t.Errorf("%d tries", n)
	}
}

func TestFetchOtherTenantNeedsAllowing(t *testing.T) {
	x := newKVFixture(t, fakeazure.Options{}, "kv1")
	x.set(t, "kv1", "db", "", "v")
	x.f.Credential = credFunc(func(o policy.TokenRequestOptions) (azcore.AccessToken, error) {
		return azcore.AccessToken{}, &tenantErr{o.TenantID}
	})
	e := x.f.Fetch(context.Background(), []Reference{x.ref(t, "kv1", "db", "")})[0].Err
	if e == nil || !strings.Contains(e.Error(), "the vault is in tenant "+x.s.Tenant()) ||
		!strings.Contains(e.Hint, "AZURE_ADDITIONALLY_ALLOWED_TENANTS="+x.s.Tenant()) {
		t.Errorf("got %v (hint %q)", e, e.Hint)
	}
}

type credFunc func(policy.TokenRequestOptions) (azcore.AccessToken, error)

func (f credFunc) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return f(o)
}

// tenantErr is azidentity's refusal, word for word.
type tenantErr struct{ tenant string }

func (e *tenantErr) Error() string {
	return `ClientSecretCredential isn't configured to acquire tokens for tenant "` + e.tenant +
		`". To enable acquiring tokens for this tenant add it to the AdditionallyAllowedTenants on the credential options, or add "*" to allow acquiring tokens for any tenant`
}

func TestJitterNeverShortens(t *testing.T) {
	for range 1000 {
		if d := jitter(2 * time.Second); d < 0 || d >= 500*time.Millisecond {
			t.Fatalf("Retry-After 2s got %s of jitter", d)
		}
		if d := jitter(100 * time.Millisecond); d < 0 || d >= 100*time.Millisecond {
			t.Fatalf("Retry-After 100ms got %s of jitter", d)
		}
		if d := backoff(500*time.Millisecond, 3); d < 1600*time.Millisecond || d >= 2600*time.Millisecond {
			t.Fatalf("third back-off %s", d)
		}
		if d := backoff(500*time.Millisecond, 40); d > maxBackoff*13/10 {
			t.Fatalf("back-off %s above the cap", d)
		}
	}
	if d := retryAfter(http.Header{"Retry-After": {"3"}}); d != 3*time.Second {
		t.Errorf("Retry-After 3: %s", d)
	}
	if d := retryAfter(http.Header{"Retry-After-Ms": {"250"}, "Retry-After": {"3"}}); d != 250*time.Millisecond {
		t.Errorf("Retry-After-Ms first: %s", d)
	}
}
