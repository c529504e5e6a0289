package providers

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Key Vault emulators (Lowkey Vault, azure-keyvault-emulator) listen on
// loopback, and their challenge names a resource that is not a subdomain
// of their host, so the SDK's challenge check has to be replaced for them.
// Replaced, not switched off: a listener on a local port that answers with
// a challenge for Resource Manager or Graph would otherwise receive a
// token for that audience. So an emulator is used only
//
//   - when the user named its HOST:PORT (--keyvault-emulator, a trusted
//     input; a reference alone, which may come from a repository's env
//     file, never makes a vault an emulator);
//   - over a connection whose address is checked when it is made: a name
//     such as evil.localhost is looked up in DNS, and an answer that is not
//     loopback is refused before any byte is sent;
//   - with a challenge whose resource is the selected cloud's Key Vault
//     audience, and a credential that refuses any other scope, so that no
//     token for another audience leaves azexec.

// Emulators are the Key Vault emulators the user consented to, by
// canonical HOST:PORT (see ParseEmulator). The zero value allows none.
type Emulators map[string]bool

// NewEmulators parses each HOST:PORT of list (an entry may hold several,
// separated by commas, as AZEXEC_KEYVAULT_EMULATOR does).
func NewEmulators(list []string) (Emulators, error) {
	e := Emulators{}
	for _, item := range list {
		for _, one := range strings.Split(item, ",") {
			addr, err := ParseEmulator(strings.TrimSpace(one))
			if err != nil {
				return nil, err
			}
			e[addr] = true
		}
	}
	return e, nil
}

// ParseEmulator reads HOST:PORT, where HOST is localhost, a name under
// .localhost or a loopback IP address (IPv6 in brackets) and PORT is
// required, and returns it in canonical form: lower case, the IP address
// as Go prints it, the port without leading zeros. A name that only looks
// like loopback is still checked when the connection is made.
func ParseEmulator(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || !validPort(port) || !isLoopbackHost(s) {
		return "", syntaxError("%q is not HOST:PORT on loopback: HOST is localhost, a name under .localhost "+
			"or a loopback address ([::1] for IPv6), and PORT is required", s)
	}
	return canonicalHostPort(host, port), nil
}

// canonicalHostPort is the form Emulators keys on.
func canonicalHostPort(host, port string) string {
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	n, _ := strconv.Atoi(port)
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(n))
}

// EmulatorAddr is the canonical HOST:PORT of an emulator reference (port
// 443 when the reference gives none), the form --keyvault-emulator takes;
// "" when r is not an emulator.
func (r Reference) EmulatorAddr() string {
	if !r.Emulator() {
		return ""
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"), "443"
	}
	return canonicalHostPort(host, port)
}

// Allows reports whether r may be fetched: a real vault always, an
// emulator only when the user named it.
func (e Emulators) Allows(r Reference) bool {
	return !r.Emulator() || e[r.EmulatorAddr()]
}

// NotConsentedError is an emulator reference the user did not consent to.
// The command line refuses such references before any request; the
// Fetcher refuses them again, so that no other caller can skip the rule.
type NotConsentedError struct{ Addr string }

func (e *NotConsentedError) Error() string {
	return fmt.Sprintf("vault %s is on loopback, and no consent names it as a Key Vault emulator", e.Addr)
}

// NotLoopbackError is a connection to an emulator refused because its
// address is not loopback. It is not retried: waiting does not move a
// host.
type NotLoopbackError struct {
	Host string // the name looked up, or "" when the dialer saw only an address
	Addr string // the address refused
}

func (e *NotLoopbackError) Error() string {
	if e.Host == "" || e.Host == e.Addr {
		return fmt.Sprintf("refused to connect to %s: an emulator must be on a loopback address", e.Addr)
	}
	return fmt.Sprintf("refused to connect to %s: it resolves to %s, not a loopback address", e.Host, e.Addr)
}

// NonRetriable tells azcore's retry policy not to try again.
func (e *NotLoopbackError) NonRetriable() {}

// ChallengeAudienceError is an emulator's challenge (or a token request
// after one) for a resource other than the selected cloud's Key Vault
// audience. No token is requested for it.
type ChallengeAudienceError struct {
	Resource string // what the challenge asked for
	Audience string // the Key Vault audience of the selected cloud
}

func (e *ChallengeAudienceError) Error() string {
	return fmt.Sprintf("the emulator's challenge asks for a token for %q, not for Key Vault (%s)", e.Resource, e.Audience)
}

// NonRetriable tells azcore's retry policy not to try again.
func (e *ChallengeAudienceError) NonRetriable() {}

// badChallenge is an emulator's challenge that the SDK could not read
// (its parser would panic on an authorization without a tenant).
type badChallenge string

func (e badChallenge) Error() string { return string(e) }

// NonRetriable tells azcore's retry policy not to try again.
func (e badChallenge) NonRetriable() {}

// loopbackOnly is a net.Dialer Control function: it runs after the name
// is resolved and before connect(2), and refuses any address that is not a
// loopback IP. Whatever resolved the name, nothing leaves the machine.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return &NotLoopbackError{Addr: address}
	}
	return nil
}

// lookupFunc resolves a host name, as net.Resolver.LookupIPAddr does.
type lookupFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

// emulatorDialer connects to emulators: it resolves the host itself,
// refuses the name when any of its addresses is not loopback (a name that
// points anywhere else is not an emulator), and dials the addresses with
// loopbackOnly as a last check.
type emulatorDialer struct {
	lookup lookupFunc // net.DefaultResolver.LookupIPAddr if nil
}

// DialContext is http.Transport's DialContext.
func (d emulatorDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []net.IPAddr
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IPAddr{{IP: ip}}
	} else {
		lookup := d.lookup
		if lookup == nil {
			lookup = net.DefaultResolver.LookupIPAddr
		}
		if ips, err = lookup(ctx, host); err != nil {
			return nil, err
		}
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return nil, &NotLoopbackError{Host: host, Addr: ip.IP.String()}
		}
	}
	dialer := net.Dialer{Timeout: 10 * time.Second, Control: loopbackOnly}
	var first error
	for _, ip := range ips {
		c, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.IP.String(), port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// emulatorClient is the HTTP client of emulator vaults: the loopback
// dialer, no proxy (a proxy would make the connection, not azexec), and
// no redirects (an emulator's answer is its own).
func emulatorClient(lookup lookupFunc) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = emulatorDialer{lookup: lookup}.DialContext
	t.DialTLSContext = nil
	// Sessions are resumed: a vault's window opens up to perVault
	// connections at once, right after its first, whose session the
	// others then resume instead of each verifying the certificate anew.
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(0)}
	// Keep the connections of a vault's whole window for its next round,
	// rather than two (the default) and a TLS handshake for each other;
	// and open no more than the window: a request that starts as another
	// ends waits the instant it takes that one's connection to come back,
	// instead of opening one more.
	t.MaxIdleConnsPerHost = perVault
	t.MaxConnsPerHost = perVault
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// emulatorChallenge is a per-try policy of emulator clients: it reads
// each 401 challenge as the SDK's challenge policy will, and turns one
// that names another resource than the Key Vault audience (or a tenant
// URL the SDK cannot read) into an error before the SDK sees it.
type emulatorChallenge struct{ audience string }

// Do implements policy.Policy.
func (p emulatorChallenge) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err != nil || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		return resp, err
	}
	resource, authorization := readChallenge(resp.Header.Get("WWW-Authenticate"))
	switch {
	case !isAudienceScope(resource, p.audience):
		err = &ChallengeAudienceError{Resource: resource, Audience: p.audience}
	case len(strings.Split(authorization, "/")) < 4:
		err = badChallenge(`the emulator's challenge names no tenant (authorization="https://AUTHORITY/TENANT")`)
	default:
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return nil, err
}

// readChallenge reads a WWW-Authenticate header the way the azsecrets
// challenge policy does (space-separated KEY="VALUE" pairs after
// "Bearer "), and returns its scope (or else resource) and authorization.
// Reading it differently could let a header through that the SDK reads
// otherwise; audienceOnly catches that case too.
func readChallenge(h string) (resource, authorization string) {
	vals := map[string]string{}
	for _, part := range strings.Split(strings.ReplaceAll(h, "Bearer ", ""), " ") {
		kv := strings.Split(part, "=")
		if len(kv) == 2 {
			vals[kv[0]] = strings.TrimSuffix(strings.ReplaceAll(kv[1], `"`, ""), ",")
		}
	}
	resource, ok := vals["scope"]
	if !ok {
		resource = vals["resource"]
	}
	return resource, vals["authorization"]
}

// isAudienceScope reports whether a challenge's resource (or a token
// request's scope) is exactly the Key Vault audience, with or without
// /.default.
func isAudienceScope(s, audience string) bool {
	return s == audience || s == audience+"/.default"
}

// audienceOnly is the credential of emulator clients: it gets tokens for
// the Key Vault audience only, whatever the challenge said.
type audienceOnly struct {
	azcore.TokenCredential
	audience string
}

// GetToken implements azcore.TokenCredential.
func (c audienceOnly) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(o.Scopes) != 1 || o.Scopes[0] != c.audience+"/.default" {
		return azcore.AccessToken{}, &ChallengeAudienceError{Resource: strings.Join(o.Scopes, " "), Audience: c.audience}
	}
	return c.TokenCredential.GetToken(ctx, o)
}
