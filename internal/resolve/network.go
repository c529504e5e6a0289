package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
)

// NetProblem is what kept a request from reaching its host, in the few
// classes a user can act on differently: a name that does not resolve
// wants a VPN or the right cloud, a refused connection the right port, a
// certificate nobody trusts the CA of a TLS-inspecting proxy.
type NetProblem int

const (
	// NetOther is a transport failure of no known class.
	NetOther NetProblem = iota
	// NetDNS: the host name did not resolve.
	NetDNS
	// NetRefused: nothing listens at the host's port.
	NetRefused
	// NetUnreachable: no route to the network or the host.
	NetUnreachable
	// NetTimeout: no connection or no answer in time.
	NetTimeout
	// NetCertificate: the host's TLS certificate was not accepted.
	NetCertificate
	// NetTLS: the TLS handshake failed for another reason (not TLS at
	// that port, a protocol alert).
	NetTLS
)

// NetworkError says that a request never got an answer from Host, and
// why. The SDK and MSAL wrap transport errors in text ("unable to resolve
// an endpoint: server response error:") that keeps neither the host nor
// the cause on its first line; azexec reports this instead. It carries no
// URL (only the host), so no query string reaches a message.
type NetworkError struct {
	// Host is the host (and port, when the URL named one) the request
	// was for.
	Host string
	// Cause is the transport's error: a *net.DNSError, *net.OpError, a
	// TLS verification error, or context.DeadlineExceeded.
	Cause error
}

// Error reads "cannot reach HOST: CAUSE", or "cannot reach HOST through
// the proxy: CAUSE" when the proxy failed.
func (e *NetworkError) Error() string {
	if e.ViaProxy() {
		return "cannot reach " + e.Host + " through the proxy: " + e.Detail()
	}
	return "cannot reach " + e.Host + ": " + e.Detail()
}

// Unwrap exposes the transport's error to errors.Is and errors.As.
func (e *NetworkError) Unwrap() error { return e.Cause }

// ViaProxy reports whether the failure was in reaching or talking to the
// proxy (HTTPS_PROXY) rather than the host itself.
func (e *NetworkError) ViaProxy() bool {
	var op *net.OpError
	for err := e.Cause; errors.As(err, &op); err = op.Err {
		if op.Op == "proxyconnect" {
			return true
		}
	}
	return false
}

// Problem classifies the cause.
func (e *NetworkError) Problem() NetProblem {
	p, _ := classifyNet(e.Cause)
	return p
}

// Detail is the cause in a few words, e.g. "DNS lookup failed (no such
// host)" or "TLS certificate not trusted: certificate signed by unknown
// authority".
func (e *NetworkError) Detail() string {
	_, d := classifyNet(e.Cause)
	return d
}

// classifyNet names the class of a transport error and describes it. The
// order matters: a DNS failure wraps the error of the resolver's own
// connection (often "network is unreachable" when offline), and a proxy
// failure wraps whatever kept the proxy away.
func classifyNet(err error) (NetProblem, string) {
	var (
		dns      *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &dns):
		switch {
		case dns.IsNotFound:
			return NetDNS, "DNS lookup failed (no such host)"
		case dns.IsTimeout:
			return NetDNS, "DNS lookup timed out"
		}
		cause := dns.Err
		if dns.UnwrapErr != nil {
			cause = innermost(dns.UnwrapErr)
		}
		if dns.Server != "" && strings.Contains(cause, dns.Server) {
			// "dial udp 10.0.0.53:53: connect: network is unreachable"
			_, last, _ := cutLast(cause, ": ")
			cause = "DNS server " + dns.Server + ": " + last
		}
		return NetDNS, "DNS lookup failed (" + cause + ")"
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid):
		return NetCertificate, "TLS certificate not accepted: " + x509Text(err)
	case errors.As(err, &verify):
		return NetCertificate, "TLS certificate not accepted: " + x509Text(verify.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return NetRefused, "connection refused"
	case errors.Is(err, syscall.ENETUNREACH):
		return NetUnreachable, "network unreachable (no route)"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return NetUnreachable, "no route to host"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return NetTimeout, timeoutText(err)
	case errors.As(err, &record), errors.As(err, &alert):
		return NetTLS, "TLS handshake failed (" + innermost(err) + ")"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http's words for a tls.RecordHeaderError it swallowed.
		return NetTLS, "TLS handshake failed (the server answered in plain HTTP)"
	}
	return NetOther, innermost(err)
}

// timeoutText says at which step a request timed out, when the
// transport's error tells.
func timeoutText(err error) string {
	var op *net.OpError
	s := err.Error()
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		return "timed out connecting"
	case strings.Contains(s, "TLS handshake timeout"):
		return "timed out in the TLS handshake"
	case strings.Contains(s, "awaiting response headers"):
		return "timed out waiting for the response"
	}
	return "timed out"
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return "", s, false
}

// x509Text is a certificate error's own sentence without Go's "x509: "
// or "tls: " prefix, e.g. "certificate is valid for a.example, not
// b.example".
func x509Text(err error) string {
	if err == nil {
		return "unknown reason"
	}
	s := err.Error()
	if i := strings.LastIndex(s, "x509: "); i >= 0 {
		s = s[i+len("x509: "):]
	}
	return strings.TrimPrefix(s, "tls: ")
}

// innermost is the text of the deepest error worth showing: the syscall's
// "connection refused" rather than `Post "https://…": dial tcp …:`. A
// *url.Error is never shown whole, as its URL may carry a query.
func innermost(err error) string {
	if err == nil {
		return "unknown error"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	for errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sc *net.DNSError
	if errors.As(err, &sc) {
		return sc.Err
	}
	return redactUserinfo(firstLine(err.Error()))
}

// userinfo matches the user:password@ of a URL in text: net/http quotes a
// malformed HTTPS_PROXY whole, password included, in its error.
var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/?#@\s"']*@`)

// redactUserinfo hides the credentials of every URL in s.
func redactUserinfo(s string) string {
	return userinfo.ReplaceAllString(s, "${1}[redacted]@")
}

// AsNetworkError returns the NetworkError behind err: one in its chain, or
// one made from a transport error in its chain (the host is then taken
// from a *url.Error or a *net.DNSError). It returns nil when err holds no
// transport failure: an answer from the service, however bad, is not one.
func AsNetworkError(err error) *NetworkError {
	var ne *NetworkError
	if errors.As(err, &ne) {
		return ne
	}
	if err == nil {
		return nil
	}
	p, _ := classifyNet(err)
	if p == NetOther {
		var op *net.OpError
		if !errors.As(err, &op) {
			return nil
		}
	}
	host := ""
	var ue *url.Error
	var dns *net.DNSError
	switch {
	case errors.As(err, &ue):
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	case errors.As(err, &dns):
		host = dns.Name
	}
	if host == "" {
		// A bare deadline (a context ran out) names no host and is not
		// a transport failure this can describe.
		return nil
	}
	return &NetworkError{Host: host, Cause: err}
}
