package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/profile"
)

// Config is what every source may read. It is built from trusted inputs
// only (flags, azexec's own environment, the keyring; see the package
// documentation): the child's environment, which env files feed, is a
// separate value that never reaches a source.
type Config struct {
	// Env is azexec's own process environment.
	Env Environ
	// FileSP is a service principal an env file declares together with
	// its own secret (CheckEnvFiles), or nil. Only the env source uses it.
	FileSP *FileServicePrincipal
	// Subscription is the AZURE_SUBSCRIPTION_ID of the child's
	// environment, env files included: a value the child receives, never
	// used to decide where a credential goes.
	Subscription string
	// LookPath finds executables on the process PATH (exec.LookPath).
	LookPath func(string) (string, error)

	Cloud         Cloud
	CloudExplicit bool   // --cloud was given
	AuthFile      string // --auth-file
	ClientID      string // --client-id: user-assigned managed identity
	// Profile names the profile to use (--profile, AZEXEC_PROFILE), and
	// Profiles is where profiles are kept; both only for the profile
	// source.
	Profile  string
	Profiles *profile.Store
	// Scope, when set, names the scope that proves the identity, for the
	// source's cloud (an auth file may select another); the cloud's
	// Resource Manager scope when nil or empty.
	Scope func(Cloud) string

	// ServiceConnection is --service-connection: the Azure Pipelines
	// service connection, for the pipelines source.
	ServiceConnection string

	ClientOptions policy.ClientOptions
	// Network, when set, is the HTTP client of every credential (unless
	// ClientOptions names a Transport), and the chain asks it why a token
	// request failed when the SDK's error does not say.
	Network *Network
	Logger  hclog.Logger

	// secret is Chain.OnSecret, set by Resolve: sources that fetch
	// secrets later (a CI OIDC token per assertion) report them here.
	secret func(string)

	// allowed, when set, replaces AZURE_ADDITIONALLY_ALLOWED_TENANTS: an
	// env file's service principal brings its own.
	allowed *string
}

func (c *Config) env(k string) string { return c.Env.Get(k) }

// subscription is the subscription the child's environment names, else
// the process environment's.
func (c *Config) subscription() string {
	if c.Subscription != "" {
		return c.Subscription
	}
	return c.env("AZURE_SUBSCRIPTION_ID")
}

func (c *Config) logger() hclog.Logger {
	if c.Logger == nil {
		return hclog.NewNullLogger()
	}
	return c.Logger
}

// Source is one way of finding an identity. Load must not touch the
// network: it decides from the environment and the file system whether the
// source is configured, and returns an *UnavailableError when it is not.
type Source interface {
	Name() string
	Load(cfg *Config) (*Candidate, error)
}

// Candidate is a configured source's credential, waiting to be proven by
// one token request.
type Candidate struct {
	Credential azcore.TokenCredential
	// Identity holds what is known before any request: tenant and client
	// id, service principal, subscription, cloud. The chain completes it
	// from the proof token's claims.
	Identity Identity
	// Probe, when set, runs before the token request and returns an
	// *UnavailableError when the source's service is not there (IMDS off
	// Azure), so the chain does not wait for the SDK's retries.
	Probe func(ctx context.Context) error
	// Continue lets the chain move on after a failed token request. The
	// developer logins (az, azd) set it, as DefaultAzureCredential does.
	Continue bool
	// Secrets are further values the source read that must never be
	// shown (a federated assertion); the chain hands them to OnSecret.
	Secrets []string
	// Note is the reason shown for the source when it wins, e.g. which
	// keyring held a profile's secret.
	Note string
	// CacheID names the identity for the persistent token cache, from
	// local state alone (cachekey.go); nil for a source that cannot
	// name it before a request. Service principals get theirs from SP.
	CacheID *CacheID
}

// UnavailableError says a source is not configured or not reachable here;
// the chain moves on to the next source.
type UnavailableError struct {
	Reason string
	// Hint, when set, is what to do to configure the source; it is shown
	// when no source is found (a CI job lacking a permission).
	Hint string
}

func (e *UnavailableError) Error() string { return e.Reason }

func unavailable(format string, args ...any) error {
	return &UnavailableError{Reason: fmt.Sprintf(format, args...)}
}

// unavailableHint is unavailable with advice, for a source that is half
// configured in a way that is common and not an error (a CI job without
// the permission to request an OIDC token).
func unavailableHint(reason, hint string) error {
	return &UnavailableError{Reason: reason, Hint: hint}
}

// IsUnavailable reports whether err says the source is not there.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}

// clientOptions returns the SDK client options for the selected cloud.
func (c *Config) clientOptions() policy.ClientOptions {
	o := c.ClientOptions
	o.Cloud = c.Cloud.Configuration()
	if o.Transport == nil {
		o.Transport = c.Network.Transporter()
	}
	return o
}

// allowedTenants is AZURE_ADDITIONALLY_ALLOWED_TENANTS, as the SDK reads it.
func (c *Config) allowedTenants() []string {
	v := c.env("AZURE_ADDITIONALLY_ALLOWED_TENANTS")
	if c.allowed != nil {
		v = *c.allowed
	}
	if v == "" {
		return nil
	}
	return strings.Split(v, ";")
}
