package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/azexec/azexec/internal/resolve"
)

// Defaults for a Fetcher, also the defaults of --concurrency and --timeout.
const (
	// DefaultConcurrency bounds the requests in flight across all vaults.
	// Each vault has an adaptive limit of its own (aimd.go) that starts at
	// 64 and halves when the vault throttles, so this is only the ceiling
	// that keeps a run with many vaults to a sane number of connections:
	// two vaults at their starting limit. Key Vault allows 4,000 secret
	// GETs per 10 s per vault, so a burst of this size is well inside it.
	DefaultConcurrency = 128
	// DefaultTimeout bounds the whole resolution, retries included.
	DefaultTimeout = 60 * time.Second
)

// Fetcher fetches Key Vault secrets with an identity's credential. The
// azsecrets client does the protocol (the 401 challenge that names the
// vault's tenant, the token, the request); the credential caches tokens
// per tenant and scope, so a whole run costs one token request per tenant
// however many vaults and secrets it reads.
type Fetcher struct {
	Credential azcore.TokenCredential
	Cloud      resolve.Cloud
	// ObjectID is the identity's object id, for the hint on 403.
	ObjectID string
	// TenantID is the identity's tenant. The Key Vault token for it is
	// asked for while the first challenges are on their way (tokenshare.go);
	// empty, it is asked for after the challenge, as the SDK does.
	TenantID string
	// Concurrency bounds the requests in flight, all vaults together, and
	// each vault's adaptive limit (DefaultConcurrency if 0).
	Concurrency int
	// Timeout bounds the whole Fetch (DefaultTimeout if 0).
	Timeout time.Duration
	// Transport replaces azcore's HTTP client; nil in production (the
	// binary trusts a test CA through SSL_CERT_FILE).
	Transport policy.Transporter
	// EmulatorTransport, for tests only, replaces the loopback-only client
	// of emulator vaults (emulatorClient). Transport never does: azexec's
	// shared client would follow proxies and redirects and dial whatever a
	// name resolves to.
	EmulatorTransport policy.Transporter
	// RetryDelay is the first back-off for a throttled or failed request
	// that names no Retry-After (500ms if 0); tests shorten it.
	RetryDelay time.Duration
	// Emulators are the loopback vaults the user consented to (see
	// emulator.go); a reference to any other loopback vault fails.
	Emulators Emulators

	// lookup resolves emulator host names (the system resolver if nil);
	// tests make names resolve where they want.
	lookup lookupFunc
}

// Result is the outcome of one reference: its secret and the version
// read, or why it failed.
type Result struct {
	// Value is the secret; it prints as [redacted].
	Value resolve.Secret
	// Version is the version read, from the secret's id: for a reference
	// without a version, the latest one at the time of reading.
	Version string
	Err     *FetchError
}

// Fetch resolves refs concurrently and returns one result per reference,
// in the same order. Identical references (the same vault, secret and
// version, in whatever form or case) are fetched once. Fetch always reads
// every reference, so that the caller can report every failure at once.
//
// Each vault's first reference goes alone: its request draws the vault's
// challenge, while the Key Vault token is fetched at the same time. The
// vault's other references start once the challenge is answered, so that
// they carry the token and none of them is a challenge of its own. Then
// the vault's adaptive limit (aimd.go) decides how many are in flight.
func (f *Fetcher) Fetch(ctx context.Context, refs []Reference) []Result {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	keys, unique := f.dedupe(refs)
	tokens := newSharedTokens(f.Credential, f.TenantID)
	if len(unique) > 0 {
		tokens.prefetch(ctx, f.Cloud.KeyVaultAudience+"/.default")
	}
	vaults := make(map[string]*vaultRun)
	for _, r := range unique {
		u := r.VaultURL(f.Cloud)
		if _, ok := vaults[u]; !ok {
			vaults[u] = f.newVaultRun(r, tokens)
		}
	}
	byKey := f.fetchAll(ctx, unique, vaults)
	out := make([]Result, len(refs))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// dedupe returns each reference's key, and the distinct references in
// first-seen order.
func (f *Fetcher) dedupe(refs []Reference) (keys []string, unique []Reference) {
	seen := make(map[string]bool)
	for _, r := range refs {
		k := r.Key(f.Cloud)
		keys = append(keys, k)
		if !seen[k] {
			seen[k] = true
			unique = append(unique, r)
		}
	}
	return keys, unique
}

// fetchAll reads every distinct reference, one goroutine each; each
// vault's limiter and the run's slots (--concurrency) bound the requests
// in flight.
func (f *Fetcher) fetchAll(ctx context.Context, refs []Reference, vaults map[string]*vaultRun) map[string]Result {
	slots := make(chan struct{}, f.concurrency())
	var mu sync.Mutex
	results := make(map[string]Result, len(refs))
	var wg sync.WaitGroup
	first := make(map[*vaultRun]bool)
	for _, r := range refs {
		v := vaults[r.VaultURL(f.Cloud)]
		primer := !first[v]
		first[v] = true
		wg.Go(func() {
			res := f.fetchOne(ctx, v, r, primer, slots)
			mu.Lock()
			results[r.Key(f.Cloud)] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

// vaultRun is one vault's part of a Fetch: its client (or why there is
// none), its adaptive limit, and the gate that holds its references back
// until its challenge is answered.
type vaultRun struct {
	c    *azsecrets.Client
	err  error
	lim  *limiter
	gate chan struct{} // closed once the challenge is answered, or the first reference is done
	once sync.Once
}

// newVaultRun builds the vault of r's part of a Fetch.
func (f *Fetcher) newVaultRun(r Reference, tokens *sharedTokens) *vaultRun {
	v := &vaultRun{lim: newLimiter(f.concurrency(), jitter), gate: make(chan struct{})}
	v.c, v.err = f.newClient(r, gatedCredential{tokens, v})
	return v
}

// open lets the vault's other references go.
func (v *vaultRun) open() { v.once.Do(func() { close(v.gate) }) }

// gatedCredential opens its vault's gate when the vault client asks for a
// token: the SDK asks only after it has read and checked the challenge,
// so from then on the client's requests carry a token.
type gatedCredential struct {
	azcore.TokenCredential
	v *vaultRun
}

// GetToken implements azcore.TokenCredential.
func (c gatedCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.v.open()
	return c.TokenCredential.GetToken(ctx, o)
}

// fetchOne reads one secret, waiting out throttling until the timeout. The
// primer is the vault's first reference, which draws its challenge; the
// others wait for it.
func (f *Fetcher) fetchOne(ctx context.Context, v *vaultRun, r Reference, primer bool, slots chan struct{}) Result {
	var th throttling
	if v.err != nil {
		return Result{Err: f.explain(ctx, r, &th, v.err)}
	}
	if primer {
		defer v.open()
	} else {
		select {
		case <-v.gate:
		case <-ctx.Done():
			return Result{Err: f.explain(ctx, r, &th, ctx.Err())}
		}
	}
	var last error // the last throttling answer
	for {
		t, err := v.lim.acquire(ctx)
		if err != nil {
			return Result{Err: f.stopped(ctx, r, v, &th, last, err)}
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			v.lim.done(t, false)
			return Result{Err: f.stopped(ctx, r, v, &th, last, ctx.Err())}
		}
		resp, err := v.c.GetSecret(ctx, r.Secret, r.Version, nil)
		<-slots
		if err == nil {
			v.lim.done(t, true)
			return f.result(r, resp)
		}
		asked, again, isThrottle := th.next(ctx, err, f.retryDelay())
		if !isThrottle {
			v.lim.done(t, answered(err))
			return Result{Err: f.explain(ctx, r, &th, err)}
		}
		v.lim.throttled(t, time.Now(), asked)
		if !again {
			return Result{Err: f.explain(ctx, r, &th, err)}
		}
		last = err
	}
}

// stopped explains a reference that could not start its next try: the
// run ended, or the vault's pause outlasts it.
func (f *Fetcher) stopped(ctx context.Context, r Reference, v *vaultRun, th *throttling, last, err error) *FetchError {
	th.vaultThrottled = v.lim.wasThrottled()
	var p pausedPastDeadline
	if errors.As(err, &p) {
		th.asked = p.wait
		if last != nil {
			return f.explain(ctx, r, th, last)
		}
		return &FetchError{Ref: r, VaultURL: r.VaultURL(f.Cloud), Err: err, Hint: throttleHint,
			Reason: fmt.Sprintf("not read: the vault is throttling, and the next try would come after --timeout %s", f.timeout())}
	}
	return f.explain(ctx, r, th, err)
}

// answered reports whether err is an answer of the vault (a 404, a 403),
// which shows that it keeps up, rather than a failure to reach it.
func answered(err error) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re)
}

// result turns an answer into a Result.
func (f *Fetcher) result(r Reference, resp azsecrets.GetSecretResponse) Result {
	if resp.Value == nil {
		return Result{Err: &FetchError{Ref: r, VaultURL: r.VaultURL(f.Cloud), Status: http.StatusOK,
			Reason: "the secret has no value", Hint: "set a value: az keyvault secret set"}}
	}
	res := Result{Value: resolve.Secret(*resp.Value), Version: r.Version}
	if resp.ID != nil {
		if v := resp.ID.Version(); v != "" {
			res.Version = v
		}
	}
	return res
}

// newClient builds the azsecrets client of r's vault. A real vault keeps
// the SDK's challenge check, which sends a token only to a host under the
// challenge's resource. An emulator the user consented to gets instead the
// checks of emulator.go: a loopback-only connection, a challenge for the
// Key Vault audience only, a credential for nothing else.
func (f *Fetcher) newClient(r Reference, cred azcore.TokenCredential) (*azsecrets.Client, error) {
	opts := &azsecrets.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Transport: f.Transport,
			Retry:     f.retryOptions(),
		},
	}
	if r.Emulator() {
		if !f.Emulators.Allows(r) {
			return nil, &NotConsentedError{Addr: r.EmulatorAddr()}
		}
		opts.Transport = f.EmulatorTransport
		if opts.Transport == nil {
			opts.Transport = emulatorClient(f.lookup)
		}
		opts.PerRetryPolicies = []policy.Policy{emulatorChallenge{audience: f.Cloud.KeyVaultAudience}}
		opts.DisableChallengeResourceVerification = true
		cred = audienceOnly{TokenCredential: cred, audience: f.Cloud.KeyVaultAudience}
	}
	return azsecrets.NewClient(r.VaultURL(f.Cloud), withoutCAE{cred}, opts)
}

// The vault client's credential, from the SDK's side: withoutCAE, then
// audienceOnly for an emulator, then gatedCredential (opens the vault's
// gate), then the Fetch's sharedTokens, then the identity's credential.
// withoutCAE comes before sharedTokens, so that the token the challenge
// asks for and the one prefetched are the same request.

// withoutCAE asks for ordinary tokens where azsecrets asks for tokens
// with continuous access evaluation. azidentity serves those from a second
// MSAL client, which discovers the authority again (one more round trip
// before the first secret); a resolution that lasts seconds gains nothing
// from revocation events, and the token the identity's proof already
// warmed up serves it as well.
type withoutCAE struct{ azcore.TokenCredential }

// GetToken implements azcore.TokenCredential.
func (c withoutCAE) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	o.EnableCAE = false
	return c.TokenCredential.GetToken(ctx, o)
}

func (f *Fetcher) concurrency() int {
	if f.Concurrency <= 0 {
		return DefaultConcurrency
	}
	return f.Concurrency
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout <= 0 {
		return DefaultTimeout
	}
	return f.Timeout
}
