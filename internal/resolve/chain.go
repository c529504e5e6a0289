package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
)

// SourceNames lists the sources in the order --identity auto tries them.
var SourceNames = []string{"env", "auth-file", "workload", "github", "pipelines", "managed", "cli", "azd"}

// NewSource returns the source with the given name.
func NewSource(name string) (Source, bool) {
	switch name {
	case "env":
		return envSource{}, true
	case "auth-file":
		return authFileSource{}, true
	case "workload":
		return workloadSource{}, true
	case "github":
		return githubSource{}, true
	case "pipelines":
		return pipelinesSource{}, true
	case "managed":
		return managedSource{}, true
	case "cli":
		return cliSource{}, true
	case "azd":
		return azdSource{}, true
	case "profile":
		return profileSource{}, true
	}
	return nil, false
}

// Chain tries sources in order until one proves an identity.
type Chain struct {
	Sources []Source
	// Timeout bounds each source's proof request (the CLI sources run a
	// subprocess that may hang on a prompt). Zero means 30 seconds.
	Timeout time.Duration
	// OnSecret is told every secret and token the chain handles, so that
	// the log sink can scrub them should one ever reach a log line: the
	// candidate's secrets before its first request, and every token the
	// resolved identity's credential returns, for the whole run.
	OnSecret func(string)
	// Cache, when set, wraps the credential of a service principal in a
	// persistent token cache before the proof request, so that a token an
	// earlier azexec process cached for the same identity, authority and
	// credential proves the identity without a request (see CacheID).
	Cache func(id CacheID, cred azcore.TokenCredential) azcore.TokenCredential
}

// CacheID names an identity for a persistent token cache, from what is
// known before any request. A service principal is named by its tenant,
// client id, authority and credential. The other sources are named by
// the local state that decides who they are (cachekey.go): az's
// azureProfile.json (the default account, its tenant and cloud), azd's
// config.json, the workload token file's content, the managed identity's
// endpoint and host. Whenever that state changes (az logout, az login as
// another user, az account set into another tenant) the name changes and
// the old token is not served; where it cannot be read, nothing is
// cached.
type CacheID struct {
	// Identity is profile.ServicePrincipalIdentity, or the source's own
	// name for its identity: hashed into the names of the cache entries.
	Identity string
	// Tenant is the home tenant, for requests that name none.
	Tenant string
	// Binding is profile.Binding of the identity, the authority and the
	// credential: a cached token is served only when it matches.
	Binding string
}

// cacheID returns the CacheID of a candidate, or false when its identity
// is only known after a request.
func cacheID(cand *Candidate) (CacheID, bool) {
	if cand.CacheID != nil {
		return *cand.CacheID, true
	}
	sp := cand.Identity.SP
	if sp == nil {
		return CacheID{}, false
	}
	identity := profile.ServicePrincipalIdentity(sp.TenantID, sp.ClientID)
	var cert string
	if sp.CertificatePath != "" {
		// A new certificate in the same file is a new credential.
		if cert = fileHash(sp.CertificatePath); cert == "" {
			return CacheID{}, false
		}
	}
	binding := profile.Binding(identity, cand.Identity.Cloud.AuthorityHost,
		sp.ClientSecret.Reveal(), sp.CertificatePath, sp.CertificatePassword.Reveal(), cert)
	return CacheID{Identity: identity, Tenant: sp.TenantID, Binding: binding}, true
}

// ChainError is returned when no source proved an identity. It carries
// every attempt so the caller can list them.
type ChainError struct {
	Err      *fail.Error
	Attempts []Attempt
}

func (e *ChainError) Error() string { return e.Err.Error() }

// Unwrap exposes the *fail.Error for the exit-code table.
func (e *ChainError) Unwrap() error { return e.Err }

// Resolve runs the chain. On success the returned attempts end with the
// winner; on failure the error is a *ChainError.
func (ch *Chain) Resolve(ctx context.Context, cfg *Config) (*Identity, []Attempt, error) {
	if ch.OnSecret != nil {
		cfg = withReporting(cfg, ch.OnSecret)
	}
	var attempts []Attempt
	if cfg.secret == nil {
		cfg.secret = ch.OnSecret
	}
	for _, src := range ch.Sources {
		id, a, stop := ch.try(ctx, cfg, src)
		attempts = append(attempts, a)
		cfg.logger().Debug("identity source tried", "source", a.Source, "status", a.Status, "reason", a.Reason)
		if id != nil {
			return id, attempts, nil
		}
		if stop {
			kind := fail.Identity
			if a.kind == fail.Usage {
				kind = fail.Usage
			}
			e := fail.New(kind, "%s: %s", a.Source, a.Reason)
			e.Hint = a.Hint
			return nil, attempts, &ChainError{Err: e, Attempts: attempts}
		}
	}
	e := fail.New(fail.Identity, "no azure identity found")
	e.Hint = noIdentityHint(attempts)
	return nil, attempts, &ChainError{Err: e, Attempts: attempts}
}

// try loads and proves one source. stop reports that the chain must end
// here: the source was configured and its authentication failed.
func (ch *Chain) try(ctx context.Context, cfg *Config, src Source) (*Identity, Attempt, bool) {
	a := Attempt{Source: src.Name()}
	cand, err := src.Load(cfg)
	if err != nil {
		a = ch.classify(a, src, err, false)
		return nil, a, a.Status == StatusFailed
	}
	ch.reportSecrets(cfg, src, cand)
	if ch.OnSecret != nil {
		for _, s := range cand.Secrets {
			ch.OnSecret(s)
		}
	}
	timeout := ch.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if cand.Probe != nil {
		if err := cand.Probe(ctx); err != nil {
			return nil, ch.classify(a, src, err, cand.Continue), false
		}
	}
	inner := cand.Credential
	if id, ok := cacheID(cand); ok && ch.Cache != nil {
		inner = ch.Cache(id, inner)
	}
	if ch.OnSecret != nil {
		// Every token the identity's credential ever returns, from the
		// SDK or the persistent cache, is reported as it is returned.
		inner = reportingCredential{inner: inner, onToken: ch.OnSecret}
	}
	cred := newCachingCredential(inner)
	scope := cand.Identity.Cloud.ARMScope()
	if cfg.Scope != nil {
		if s := cfg.Scope(cand.Identity.Cloud); s != "" {
			scope = s
		}
	}
	mark := cfg.Network.Mark()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		err = networkCause(cfg, mark, err)
		a = ch.classify(a, src, err, cand.Continue)
		a.Hint = profileHint(a.Hint, cand.Identity)
		return nil, a, a.Status == StatusFailed && !cand.Continue
	}
	id := cand.Identity
	id.Source = src.Name()
	id.Credential = cred
	id.ExpiresOn = tok.ExpiresOn
	fillFromClaims(&id, parseClaims(tok.Token))
	cred.home = id.TenantID
	a.Status, a.Reason = StatusOK, cand.Note
	return &id, a, false
}

// networkCause returns the transport failure behind a failed token
// request when the SDK's error lost it (MSAL keeps only "server response
// error:"), or err itself when the service answered or nothing failed on
// the way.
func networkCause(cfg *Config, mark uint64, err error) error {
	if ne := AsNetworkError(err); ne != nil {
		return ne
	}
	if serviceAnswered(err) {
		return err
	}
	if ne := cfg.Network.FailureSince(mark); ne != nil {
		cfg.logger().Debug("token request failed on the network", "host", ne.Host, "error", firstLine(err.Error()))
		return ne
	}
	return err
}

// serviceAnswered reports whether err is the service's own answer (an
// HTTP error status, an AADSTS code), which says more than any transport
// failure before it.
func serviceAnswered(err error) bool {
	var re *azcore.ResponseError
	var afe *azidentity.AuthenticationFailedError
	return errors.As(err, &re) ||
		errors.As(err, &afe) && afe.RawResponse != nil ||
		aadsts.MatchString(err.Error())
}

func fillFromClaims(id *Identity, c claims) {
	if c.TenantID != "" {
		id.TenantID = c.TenantID
	}
	if c.ObjectID != "" {
		id.ObjectID = c.ObjectID
	}
	if id.ClientID == "" {
		id.ClientID = c.clientID()
	}
	id.User = c.user()
}

// classify turns a source's error into an attempt: unavailable sources are
// skipped, everything else failed, with a hint when the cause is known.
func (ch *Chain) classify(a Attempt, src Source, err error, developer bool) Attempt {
	var u *UnavailableError
	if errors.As(err, &u) {
		a.Status, a.Reason, a.Hint = StatusSkipped, u.Reason, u.Hint
		return a
	}
	a.Status = StatusFailed
	a.kind = fail.KindOf(err)
	a.Reason, a.Hint = explain(src.Name(), err)
	return a
}

// configError is returned by Load for a configuration that is present but
// unusable (a missing certificate file, a malformed auth file): the chain
// stops there instead of falling through to another identity.
func configError(format string, args ...any) error {
	return &fail.Error{Kind: fail.Identity, Msg: fmt.Sprintf(format, args...)}
}

func noIdentityHint(attempts []Attempt) string {
	// A source that was there but failed (az not logged in) knows better
	// than the list of sources what to do.
	for i := len(attempts) - 1; i >= 0; i-- {
		if a := attempts[i]; a.Status == StatusFailed && a.Hint != "" {
			return a.Hint
		}
	}
	// Then a source that is half configured (a CI job without its OIDC
	// permission) says what it lacks.
	for _, a := range attempts {
		if a.Status == StatusSkipped && a.Hint != "" {
			return a.Hint
		}
	}
	var names []string
	for _, a := range attempts {
		if !isExcluded(a) {
			names = append(names, a.Source)
		}
	}
	if len(names) == 0 {
		return "AZURE_TOKEN_CREDENTIALS selects no source azexec supports"
	}
	return "configure one of: " + strings.Join(names, ", ") +
		" (for local development: az login; see azexec --help)"
}
