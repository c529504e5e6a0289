package profile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/hashicorp/go-hclog"
)

// TokenPrefix starts the keyring entry name of every cached token.
const TokenPrefix = "token:"

// TokenMargin is how long before its expiry a cached token stops being
// served, so that neither azexec nor a child receives one about to lapse.
const TokenMargin = 5 * time.Minute

// ServicePrincipalIdentity is the cache identity of a service principal:
// known from configuration alone, before any request, which is what lets
// a cached token prove it.
func ServicePrincipalIdentity(tenant, client string) string {
	return "sp\x00" + strings.ToLower(tenant) + "\x00" + strings.ToLower(client)
}

// identityHash shortens an identity for entry names: names must be
// listable without decrypting, and need not show tenant and client ids.
func identityHash(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return hex.EncodeToString(sum[:8])
}

// TokenEntryPrefix is the common start of the names of one identity's
// cached tokens, for clearing them.
func TokenEntryPrefix(identity string) string {
	return TokenPrefix + identityHash(identity) + ":"
}

// tokenEntryName is "token:IDENTITY-HASH:TENANT:SCOPES", with ":cae" added
// for tokens requested with continuous access evaluation, which a client
// unprepared for claims challenges must not receive.
func tokenEntryName(identity, tenant string, o policy.TokenRequestOptions) string {
	name := TokenEntryPrefix(identity) + strings.ToLower(tenant) + ":" + strings.Join(o.Scopes, " ")
	if o.EnableCAE {
		name += ":cae"
	}
	return name
}

// Binding ties cached tokens to what obtained them: the identity, the
// authority and the credential (a hash of the secret, or the certificate
// path and password). It is stored only inside the encrypted entry, never
// in a name, so it is no oracle for guessing a secret.
func Binding(identity, authority string, credential ...string) string {
	h := sha256.New()
	for _, part := range append([]string{identity, strings.ToLower(authority)}, credential...) {
		h.Write([]byte{byte(len(part) >> 8), byte(len(part))})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tokenPayload is a cached token as stored, encrypted by the keyring. It
// holds the access token only: never a refresh token or a secret.
type tokenPayload struct {
	Token     string    `json:"accessToken"`
	ExpiresOn time.Time `json:"expiresOn"`
	RefreshOn time.Time `json:"refreshOn,omitzero"`
	Binding   string    `json:"binding"`
}

// TokenCache keeps access tokens in a keyring between azexec processes.
// The keyring is opened on first use; when it cannot be (locked, no
// passphrase without a terminal) the cache stays off for the process and
// every call goes to the credential, so the cache can only save requests,
// never fail a command.
type TokenCache struct {
	open func() (*Keyring, error)
	log  hclog.Logger
	now  func() time.Time

	once sync.Once
	kr   *Keyring
}

// NewTokenCache returns a cache in the keyring open returns.
func NewTokenCache(open func() (*Keyring, error), log hclog.Logger) *TokenCache {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &TokenCache{open: open, log: log, now: time.Now}
}

// keyring opens the keyring once; nil means the cache is off.
func (c *TokenCache) keyring() *Keyring {
	c.once.Do(func() {
		kr, err := c.open()
		if err != nil {
			c.log.Debug("token cache off: the keyring cannot be opened", "error", err)
			return
		}
		c.kr = kr
	})
	return c.kr
}

// Wrap returns a credential that serves inner's tokens from the cache.
// identity is ServicePrincipalIdentity, home the tenant used when a
// request names none, binding the value of Binding for inner.
func (c *TokenCache) Wrap(identity, home, binding string, inner azcore.TokenCredential) azcore.TokenCredential {
	return &cachedCredential{cache: c, identity: identity, home: home, binding: binding, inner: inner}
}

type cachedCredential struct {
	cache    *TokenCache
	identity string
	home     string
	binding  string
	inner    azcore.TokenCredential
}

// GetToken implements azcore.TokenCredential. A request carrying a claims
// challenge always goes to the credential: the resource has just refused
// a token, possibly the cached one.
func (cc *cachedCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	kr := cc.cache.keyring()
	if kr == nil || o.Claims != "" {
		return cc.inner.GetToken(ctx, o)
	}
	tenant := o.TenantID
	if tenant == "" {
		tenant = cc.home
	}
	name := tokenEntryName(cc.identity, tenant, o)
	if t, ok := cc.cache.load(kr, name, cc.binding); ok {
		return t, nil
	}
	t, err := cc.inner.GetToken(ctx, o)
	if err != nil {
		return t, err
	}
	cc.cache.store(kr, name, cc.binding, t)
	return t, nil
}

// load returns the cached token named name when it is bound to binding
// and not about to expire.
func (c *TokenCache) load(kr *Keyring, name, binding string) (azcore.AccessToken, bool) {
	data, err := kr.get(name)
	if errors.Is(err, ErrNotFound) {
		c.log.Debug("token cache miss", "entry", name)
		return azcore.AccessToken{}, false
	}
	if err != nil {
		c.log.Debug("token cache entry unreadable; asking for a new token", "entry", name, "error", err)
		return azcore.AccessToken{}, false
	}
	var p tokenPayload
	if err := json.Unmarshal(data, &p); err != nil || p.Token == "" {
		c.log.Debug("token cache entry malformed; asking for a new token", "entry", name)
		return azcore.AccessToken{}, false
	}
	now := c.now()
	switch {
	case p.Binding != binding:
		c.log.Debug("cached token was obtained with another credential or authority; asking for a new token", "entry", name)
	case !now.Add(TokenMargin).Before(p.ExpiresOn):
		c.log.Debug("cached token expires soon; asking for a new token", "entry", name)
	case !p.RefreshOn.IsZero() && !now.Before(p.RefreshOn):
		c.log.Debug("cached token is due for refresh; asking for a new token", "entry", name)
	default:
		c.log.Debug("access token served from the keyring cache", "entry", name, "backend", kr.Backend, "expires_on", p.ExpiresOn)
		return azcore.AccessToken{Token: p.Token, ExpiresOn: p.ExpiresOn, RefreshOn: p.RefreshOn}, true
	}
	return azcore.AccessToken{}, false
}

// store caches t under name unless it is too close to expiry to be worth
// it. A failure is logged and otherwise ignored: the token was obtained.
func (c *TokenCache) store(kr *Keyring, name, binding string, t azcore.AccessToken) {
	if !c.now().Add(TokenMargin).Before(t.ExpiresOn) {
		return
	}
	data, err := json.Marshal(tokenPayload{Token: t.Token, ExpiresOn: t.ExpiresOn.UTC(), RefreshOn: t.RefreshOn.UTC(), Binding: binding})
	if err != nil {
		return
	}
	// The kernel keyring drops the entry once the token can no longer be
	// served.
	expires := t.ExpiresOn.Add(-TokenMargin)
	if err := kr.setExpiring(name, "azexec token cache", "access token cached by azexec until shortly before it expires", data, expires); err != nil {
		if errors.Is(err, ErrNoPassphrase) {
			c.log.Debug("token not cached: the file keyring is locked and azexec may not prompt here", "entry", name)
			return
		}
		c.log.Warn("token not cached", "entry", name, "backend", kr.Backend, "error", err)
		return
	}
	c.log.Debug("access token cached in the keyring", "entry", name, "backend", kr.Backend, "expires_on", t.ExpiresOn)
}

// ClearTokens removes the cached tokens whose names start with prefix
// (TokenPrefix for all of them) and returns how many it removed. Neither
// listing nor removing decrypts anything, so no passphrase is needed.
func ClearTokens(kr *Keyring, prefix string) (int, error) {
	if !strings.HasPrefix(prefix, TokenPrefix) {
		prefix = TokenPrefix
	}
	names, err := kr.Keys(prefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		err := kr.remove(name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}
