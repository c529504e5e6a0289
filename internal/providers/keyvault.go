package providers

import (
	"context"
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
	// DefaultConcurrency bounds the secrets fetched at once: enough to hide
	// latency, far below Key Vault's per-vault throttling limits.
	DefaultConcurrency = 16
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
	// Concurrency bounds the requests in flight (DefaultConcurrency if 0).
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

	// clients are the vaults' clients, kept across calls of Fetch: each
	// remembers its vault's challenge, so that a Fetcher used again (the
	// --watch polls) asks each vault without a token only once.
	mu      sync.Mutex
	clients map[string]vaultClient
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
func (f *Fetcher) Fetch(ctx context.Context, refs []Reference) []Result {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	keys, unique := f.dedupe(refs)
	byKey := f.fetchAll(ctx, unique, f.vaultClients(unique))
	out := make([]Result, len(refs))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// vaultClients returns the client of every vault refs name, building those
// not built by an earlier call.
func (f *Fetcher) vaultClients(refs []Reference) map[string]vaultClient {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clients == nil {
		f.clients = make(map[string]vaultClient)
	}
	clients := make(map[string]vaultClient)
	for _, r := range refs {
		u := r.VaultURL(f.Cloud)
		vc, ok := f.clients[u]
		if !ok {
			c, err := f.newClient(r)
			vc = vaultClient{c, err}
			f.clients[u] = vc
		}
		clients[u] = vc
	}
	return clients
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

// fetchAll runs a bounded pool of workers over the distinct references.
func (f *Fetcher) fetchAll(ctx context.Context, refs []Reference, clients map[string]vaultClient) map[string]Result {
	jobs := make(chan Reference)
	var mu sync.Mutex
	results := make(map[string]Result, len(refs))
	var wg sync.WaitGroup
	for range min(f.concurrency(), len(refs)) {
		wg.Go(func() {
			for r := range jobs {
				res := f.fetchOne(ctx, clients[r.VaultURL(f.Cloud)], r)
				mu.Lock()
				results[r.Key(f.Cloud)] = res
				mu.Unlock()
			}
		})
	}
	for _, r := range refs {
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	return results
}

// vaultClient is one vault's client, or why it could not be built.
type vaultClient struct {
	c   *azsecrets.Client
	err error
}

// fetchOne reads one secret, waiting out throttling until the timeout.
func (f *Fetcher) fetchOne(ctx context.Context, vc vaultClient, r Reference) Result {
	var th throttling
	if vc.err != nil {
		return Result{Err: f.explain(ctx, r, &th, vc.err)}
	}
	for {
		resp, err := vc.c.GetSecret(ctx, r.Secret, r.Version, nil)
		if err == nil {
			return f.result(r, resp)
		}
		d, again := th.next(ctx, err, f.retryDelay())
		if !again {
			return Result{Err: f.explain(ctx, r, &th, err)}
		}
		if !sleep(ctx, d) {
			return Result{Err: f.explain(ctx, r, &th, ctx.Err())}
		}
	}
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
func (f *Fetcher) newClient(r Reference) (*azsecrets.Client, error) {
	opts := &azsecrets.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Transport: f.Transport,
			Retry:     f.retryOptions(),
		},
	}
	var cred azcore.TokenCredential = f.Credential
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
