package fakeazure

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// bucket is a vault's rate limit: a token bucket that holds at most one
// second's worth of requests and refills at perSecond. Every request to
// the vault takes a token (the unauthenticated challenge too, as it costs
// the service as much); a request that finds none is answered 429 and
// takes nothing.
type bucket struct {
	perSecond float64
	tokens    float64
	last      time.Time
}

// take reports whether a request arriving at now may pass, and if not, how
// long until a token is there.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	b.tokens = min(b.perSecond, b.tokens+now.Sub(b.last).Seconds()*b.perSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.perSecond * float64(time.Second))
}

// LimitVault makes vault name accept at most perSecond requests a second,
// with bursts of up to perSecond (a full bucket), as Key Vault throttles
// each vault: a request beyond the limit is answered 429 with Key Vault's
// error body and a Retry-After in whole seconds (at least 1), before the
// vault looks at it. 0 removes the limit. The limit applies from the next
// request, on top of Options.Latency, which delays every answer.
func (s *Server) LimitVault(name string, perSecond int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.vaultLocked(name)
	if err != nil {
		return err
	}
	if perSecond < 0 {
		return fmt.Errorf("fakeazure: negative rate limit %d", perSecond)
	}
	v.limit = nil
	if perSecond > 0 {
		v.limit = &bucket{perSecond: float64(perSecond), tokens: float64(perSecond), last: time.Now()}
	}
	return nil
}

// rateLimited answers 429 when vault v's limit is used up, and reports
// whether it did.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, v *vault) bool {
	s.mu.Lock()
	ok, wait := true, time.Duration(0)
	if v.limit != nil {
		ok, wait = v.limit.take(time.Now())
	}
	s.mu.Unlock()
	if ok {
		return false
	}
	noteEntry(r, func(e *Request) { e.Throttled = true })
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	kvError(w, http.StatusTooManyRequests, "Throttled",
		fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds. Vault: %s;location=fakeazure",
			max(1, int(math.Ceil(wait.Seconds()))), strings.ToLower(v.name)), "")
	return true
}
