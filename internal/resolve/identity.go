package resolve

import (
	"encoding/json"
	"github.com/azexec/azexec/internal/fail"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// Secret is a credential value. Its printed and JSON forms are redacted so
// that a Secret passed to a logger, an error or fmt by mistake shows nothing;
// Reveal is the one way out, kept for the places that must hand the value to
// the SDK or to the child.
type Secret string

const redacted = "[redacted]"

// Reveal returns the value itself.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string { return redacted }

// GoString keeps %#v redacted too.
func (s Secret) GoString() string { return redacted }

// MarshalJSON keeps json output redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// ServicePrincipal is an application identity whose credential azexec holds,
// and so may hand to the child (env or auth-file injection). Other sources
// (managed identity, az login) never expose a credential.
type ServicePrincipal struct {
	TenantID     string
	ClientID     string
	ClientSecret Secret
	// CertificatePath and CertificatePassword are set instead of
	// ClientSecret for certificate authentication.
	CertificatePath      string
	CertificatePassword  Secret
	SendCertificateChain bool
}

// Identity is what resolution proved: who azexec acts as, and a credential
// that gets more tokens for it.
type Identity struct {
	Source       string // the winning source's name, e.g. "env"
	Kind         string // human description, e.g. "service principal (client secret)"
	TenantID     string
	ClientID     string
	ObjectID     string
	User         string // user principal name, for az/azd user logins
	Subscription string
	Cloud        Cloud
	ExpiresOn    time.Time // of the proof token

	// SP is set only when the identity is a service principal azexec holds.
	SP *ServicePrincipal

	// Profile and Keyring are set for the profile source: the profile's
	// name and the keyring backend that held its secret.
	Profile string
	Keyring string

	// Credential gets further tokens for this identity; it caches per
	// tenant and scope, so asking again for the proof scope is free.
	Credential azcore.TokenCredential
}

// Status is the outcome of one source in the chain.
type Status string

// The statuses an Attempt can have.
const (
	StatusSkipped Status = "skipped" // not configured or unavailable here
	StatusFailed  Status = "failed"  // configured, but it did not authenticate
	StatusOK      Status = "ok"
)

// Attempt records what happened to one source, for whoami and for errors.
type Attempt struct {
	Source string `json:"source"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Hint is advice for a failure whose cause is known.
	Hint string `json:"hint,omitempty"`
	// kind keeps a configuration error's own kind: a usage error found
	// while loading a source (a profile's bad cloud) stays exit 2.
	kind fail.Kind
}
