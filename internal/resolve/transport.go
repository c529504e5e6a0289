package resolve

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Network is the HTTP client of every request azexec makes to Azure: the
// sign-in, the authority discovery before it, Key Vault, Resource Manager.
// It exists for two reasons.
//
// Connecting is bounded well below the whole --timeout, so that a host
// that never answers costs one short try and leaves time for the SDK's
// retries (which the caller's context, bounded by --timeout, ends).
//
// It remembers the last transport error of each host. MSAL drops the cause
// of a failed request from its error chain (all that is left is "unable to
// resolve an endpoint: server response error:"), and the SDK's retry
// returns a bare deadline when --timeout ends between two tries; what the
// network said (no such host, connection refused, a certificate nobody
// trusts) is only known here.
type Network struct {
	client *http.Client

	mu   sync.Mutex
	seq  uint64
	last map[string]outcome // by host
}

// outcome is the end of the latest request to a host.
type outcome struct {
	seq uint64
	err error // nil when the host answered
}

// Network timeouts for an unbounded run (timeout <= 0), as the SDK's own.
const (
	maxConnectTimeout = 5 * time.Second
	maxTLSTimeout     = 10 * time.Second
	maxHeaderTimeout  = 30 * time.Second
)

// NewNetwork returns a Network for a run bounded by timeout: connecting
// takes at most min(5s, timeout/2), the TLS handshake min(10s, timeout/2),
// and the wait for a response's headers min(30s, timeout). Proxies come
// from the environment (HTTPS_PROXY, NO_PROXY), and trust from the system
// (SSL_CERT_FILE), as with the SDK's default client.
func NewNetwork(timeout time.Duration) *Network {
	connect, handshake, header := maxConnectTimeout, maxTLSTimeout, maxHeaderTimeout
	if timeout > 0 {
		connect = min(connect, timeout/2)
		handshake = min(handshake, timeout/2)
		header = min(header, timeout)
	}
	base := &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		DialContext:       (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2: true,
		MaxIdleConns:      128,
		// A vault's adaptive window is at most 64 requests at once (see
		// providers/aimd.go): keep its connections for its next round, and
		// open no more, so that a request that starts as another ends
		// waits for that one's connection rather than opening a new one.
		MaxIdleConnsPerHost:   64,
		MaxConnsPerHost:       64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   handshake,
		ResponseHeaderTimeout: header,
		ExpectContinueTimeout: time.Second,
		// A vault's window opens many connections at once right after its
		// first: they resume its TLS session rather than each verify the
		// certificate chain again.
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(0)},
	}
	n := &Network{last: make(map[string]outcome)}
	n.client = &http.Client{Transport: &recorder{base: base, n: n}}
	return n
}

// Client is the HTTP client to give the SDK (policy.ClientOptions.Transport).
// It is an *http.Client, which is what azidentity needs where MSAL
// configures the client itself.
func (n *Network) Client() *http.Client {
	if n == nil {
		return nil
	}
	return n.client
}

// Transporter is Client as the SDK's option type, nil for a nil Network
// (so that the SDK keeps its default client).
func (n *Network) Transporter() policy.Transporter {
	if n == nil {
		return nil
	}
	return n.client
}

// Mark returns the point in the sequence of requests that FailureSince
// compares with: call it before the requests whose failure to explain.
func (n *Network) Mark() uint64 {
	if n == nil {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.seq
}

// FailureSince returns the latest transport failure of a request that
// ended after mark, to a host whose latest request failed (a host that
// answered since is not to blame), or nil.
func (n *Network) FailureSince(mark uint64) *NetworkError {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var best outcome
	host := ""
	for h, o := range n.last {
		if o.err != nil && o.seq > mark && o.seq > best.seq {
			best, host = o, h
		}
	}
	if host == "" {
		return nil
	}
	return &NetworkError{Host: host, Cause: best.err}
}

func (n *Network) record(host string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	n.last[host] = outcome{seq: n.seq, err: err}
}

// recorder is the RoundTripper that tells the Network how each request
// ended.
type recorder struct {
	base http.RoundTripper
	n    *Network
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil {
		r.n.record(req.URL.Host, nil)
		return resp, nil
	}
	switch ctxErr := req.Context().Err(); {
	case errors.Is(ctxErr, context.Canceled):
		// Stopped by azexec (another request failed first): the host is
		// not to blame.
	case errors.Is(ctxErr, context.DeadlineExceeded):
		// The run's time ran out while this request waited: whatever the
		// transport's own words ("request canceled"), it is a timeout.
		r.n.record(req.URL.Host, errors.Join(context.DeadlineExceeded, err))
	default:
		r.n.record(req.URL.Host, err)
		if p, _ := classifyNet(err); p == NetCertificate {
			// Trying again gets the same certificate: do not let the
			// SDK's retries hold the user for nothing.
			return nil, nonRetriable{err}
		}
	}
	return nil, err
}

// nonRetriable marks an error the SDK's retry policy must not retry (it
// looks for a NonRetriable method).
type nonRetriable struct{ error }

func (e nonRetriable) Unwrap() error { return e.error }

// NonRetriable tells azcore's retry policy to give up at once.
func (nonRetriable) NonRetriable() {}
