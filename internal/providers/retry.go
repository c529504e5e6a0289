package providers

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Retries come in two layers.
//
// Brief failures (a reset connection, 408, 500, 502, 504) are retried by
// azcore's retry policy inside one GetSecret, maxTransientRetries times,
// with its exponential back-off and jitter. A name that does not resolve
// or a certificate that is not trusted is not retried: waiting cannot fix
// a misspelt vault.
//
// Throttling (429, 503) is retried here, around GetSecret, until the
// timeout. azcore's policy would honour Retry-After too, but exactly (every
// request a vault turned away at once would come back at the same instant),
// request by request (the others would keep knocking), and with one try
// counter for both kinds of failure: a 503 without Retry-After after ten
// 429s would wait 2^11 times the base delay, which MaxRetryDelay then caps
// at the whole budget. Here a throttling answer pauses its whole vault
// (aimd.go) for its Retry-After plus up to a quarter more, never less, and
// throttling without it backs off on its own count.

const (
	// maxTransientRetries bounds azcore's retries of brief failures, as its
	// default does.
	maxTransientRetries = 3
	// maxThrottleRetries bounds the retries of a throttled secret; the
	// timeout usually ends them first.
	maxThrottleRetries = 50
	// defaultRetryDelay is the first back-off without Retry-After.
	defaultRetryDelay = 500 * time.Millisecond
	// maxBackoff caps the back-off without Retry-After.
	maxBackoff = 8 * time.Second
)

// retryOptions configure azcore's retry policy for brief failures only.
func (f *Fetcher) retryOptions() policy.RetryOptions {
	return policy.RetryOptions{
		MaxRetries:    maxTransientRetries,
		RetryDelay:    f.retryDelay(),
		MaxRetryDelay: maxBackoff,
		ShouldRetry:   shouldRetry,
	}
}

func (f *Fetcher) retryDelay() time.Duration {
	if f.RetryDelay <= 0 {
		return defaultRetryDelay
	}
	return f.RetryDelay
}

// shouldRetry is azcore's ShouldRetry: brief failures, not throttling.
func shouldRetry(resp *http.Response, err error) bool {
	if err != nil {
		return retriableError(err)
	}
	return transientStatus(resp.StatusCode)
}

// throttled reports the statuses Key Vault answers when it throttles or is
// briefly unavailable.
func throttled(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// transientStatus reports the other statuses worth a few retries.
func transientStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retriableError reports whether a transport error may go away by itself:
// not a DNS failure (a misspelt vault) nor an untrusted certificate.
func retriableError(err error) bool {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	return !errors.As(err, &dns) && !errors.As(err, &cert)
}

// throttling is what one secret's fetch has seen of throttling so far.
type throttling struct {
	count int           // 429 and 503 answers
	blind int           // those without Retry-After, which back off exponentially
	last  int           // the last HTTP status, 0 if none
	asked time.Duration // a wait that would have ended after the deadline
	// vaultThrottled is set when the reference's vault throttled this run,
	// whichever reference it turned away.
	vaultThrottled bool
}

// next reads err: throttle reports whether it is a throttling answer, and
// then asked is the pause it asks for (its Retry-After, or an exponential
// back-off from base when it names none) and again whether to try once
// more: not when the retries are used up, or the pause would end after
// ctx's deadline. The vault's limiter adds the jitter (aimd.go).
func (t *throttling) next(ctx context.Context, err error, base time.Duration) (asked time.Duration, again, throttle bool) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return 0, false, false
	}
	t.last = re.StatusCode
	if !throttled(re.StatusCode) {
		return 0, false, false
	}
	t.count++
	if re.RawResponse != nil {
		asked = retryAfter(re.RawResponse.Header)
	}
	if asked <= 0 {
		t.blind++
		asked = backoff(base, t.blind)
	}
	if t.count > maxThrottleRetries {
		return asked, false, true
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < asked {
		t.asked = asked
		return asked, false, true
	}
	return asked, true, true
}

// jitter is what the limiter adds to the pause a throttling answer asks
// for: up to a quarter more (at least 100ms of spread), so that the
// processes a vault turned away together do not come back together.
func jitter(d time.Duration) time.Duration {
	return rand.N(max(d/4, 100*time.Millisecond))
}

// backoff is the n-th exponential delay from base, capped at maxBackoff,
// times a random factor in [0.8, 1.3) as azcore does.
func backoff(base time.Duration, n int) time.Duration {
	d := base << min(n-1, 16)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	return time.Duration(float64(d) * (0.8 + rand.Float64()/2))
}

// retryAfter reads the delay a response asks for, as azcore does:
// Retry-After-Ms, x-ms-retry-after-ms, then Retry-After in seconds or as
// an HTTP date.
func retryAfter(h http.Header) time.Duration {
	for _, k := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if n, err := strconv.Atoi(h.Get(k)); err == nil && n > 0 {
			return time.Duration(n) * time.Millisecond
		}
	}
	v := h.Get("Retry-After")
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// sleep waits for d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
