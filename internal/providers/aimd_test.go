package providers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// The limiter is stepped with a made-up clock: no test here waits or
// looks at the wall clock, except acquire's, which only checks that it
// returns at once when it can.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func noJitter(time.Duration) time.Duration { return 0 }

// admitN admits n requests at now and fails if any is refused.
func admitN(t *testing.T, l *limiter, now time.Time, n int) []ticket {
	t.Helper()
	var out []ticket
	for i := range n {
		tk, ok, _, _ := l.admit(now)
		if !ok {
			t.Fatalf("request %d of %d refused at limit %d", i+1, n, l.current())
		}
		out = append(out, tk)
	}
	return out
}

func TestLimiterStartsHighWithinTheBound(t *testing.T) {
	for _, c := range []struct{ bound, want int }{{128, 64}, {65, 64}, {64, 64}, {16, 16}, {1, 1}, {0, 1}} {
		l := newLimiter(c.bound, noJitter)
		if got := l.current(); got != c.want {
			t.Errorf("bound %d: starts at %d, want %d", c.bound, got, c.want)
		}
		admitN(t, l, t0, c.want)
		if _, ok, wait, changed := l.admit(t0); ok || wait != 0 || changed == nil {
			t.Errorf("bound %d: admitted one past the limit (wait %s)", c.bound, wait)
		}
	}
}

func TestLimiterHalvesOncePerBurst(t *testing.T) {
	l := newLimiter(128, noJitter)
	burst := admitN(t, l, t0, 64)
	// The vault turns away 40 of the burst: one halving, not 40.
	for i, tk := range burst[:40] {
		l.throttled(tk, t0.Add(time.Duration(i)*time.Millisecond), time.Second)
	}
	if got := l.current(); got != 32 {
		t.Fatalf("after one throttled burst the limit is %d, want 32", got)
	}
	for _, tk := range burst[40:] {
		l.done(tk, true)
	}
	// A request of the next burst, throttled again, halves again.
	now := t0.Add(2 * time.Second)
	next := admitN(t, l, now, 2)
	l.throttled(next[0], now, time.Second)
	l.throttled(next[1], now, time.Second)
	if got := l.current(); got != 16 {
		t.Errorf("after a second burst the limit is %d, want 16", got)
	}
	// It never goes below one.
	for range 10 {
		now = now.Add(2 * time.Second)
		tk := admitN(t, l, now, 1)[0]
		l.throttled(tk, now, time.Second)
	}
	if got := l.current(); got != 1 {
		t.Errorf("after many halvings the limit is %d, want 1", got)
	}
}

func TestLimiterPausesForRetryAfterPlusJitter(t *testing.T) {
	l := newLimiter(128, func(d time.Duration) time.Duration { return d / 4 })
	burst := admitN(t, l, t0, 3)
	l.throttled(burst[0], t0, 2*time.Second) // first of the burst: 2s + 0.5s of jitter
	l.throttled(burst[1], t0, time.Second)   // the same burst, asking less: changes nothing
	for _, at := range []time.Duration{0, time.Second, 2499 * time.Millisecond} {
		if _, ok, wait, _ := l.admit(t0.Add(at)); ok || wait != 2500*time.Millisecond-at {
			t.Errorf("at +%s: admitted %v, wait %s; want a pause until +2.5s", at, ok, wait)
		}
	}
	// A later answer of the same burst asking for more extends the pause,
	// without jitter: never earlier than asked.
	l.throttled(burst[2], t0.Add(time.Second), 3*time.Second)
	if _, ok, wait, _ := l.admit(t0.Add(3 * time.Second)); ok || wait != time.Second {
		t.Errorf("at +3s: admitted %v, wait %s; want 1s more (until +4s)", ok, wait)
	}
	if _, ok, _, _ := l.admit(t0.Add(4 * time.Second)); !ok {
		t.Error("not admitted after the pause")
	}
}

func TestLimiterGrowsAdditively(t *testing.T) {
	l := newLimiter(40, noJitter)
	for range 5 { // 32 → 16 → ... → 1 (from 40's start)
		tk := admitN(t, l, t0, 1)[0]
		l.throttled(tk, t0, 0)
	}
	if got := l.current(); got != 1 {
		t.Fatalf("limit %d, want 1", got)
	}
	// One round trip of a full window adds one: from 1, one success makes
	// 2, two more make 3, three more make 4.
	want := []int{2, 2, 3, 3, 3, 4}
	for i, w := range want {
		tk := admitN(t, l, t0, 1)[0]
		l.done(tk, true)
		if got := l.current(); got != w {
			t.Errorf("after %d successes the limit is %d, want %d", i+1, got, w)
		}
	}
	// A failure to reach the vault, or a refusal, frees the slot and adds
	// nothing.
	tk := admitN(t, l, t0, 1)[0]
	l.done(tk, false)
	if got := l.current(); got != 4 {
		t.Errorf("after a failure the limit is %d, want 4", got)
	}
	// Growth stops at the bound.
	for range 2000 {
		l.done(admitN(t, l, t0, 1)[0], true)
	}
	if got := l.current(); got != 40 {
		t.Errorf("after many successes the limit is %d, want the bound 40", got)
	}
}

func TestLimiterWakesWaiters(t *testing.T) {
	l := newLimiter(1, noJitter)
	tk := admitN(t, l, t0, 1)[0]
	_, ok, _, changed := l.admit(t0)
	if ok {
		t.Fatal("admitted past the limit")
	}
	select {
	case <-changed:
		t.Fatal("woken before anything changed")
	default:
	}
	l.done(tk, true)
	select {
	case <-changed:
	default:
		t.Fatal("not woken when a slot was freed")
	}
}

func TestLimiterAcquire(t *testing.T) {
	l := newLimiter(2, noJitter)
	ctx := context.Background()
	if _, err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// A pause that outlasts the deadline fails at once, naming the wait.
	tk, err := l.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l.throttled(tk, time.Now(), time.Hour)
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var p pausedPastDeadline
	if _, err := l.acquire(dctx); !errors.As(err, &p) || p.wait < 59*time.Minute {
		t.Errorf("acquire during a pause past the deadline: %v", err)
	}
	// An ended context ends the wait.
	cctx, cancel2 := context.WithCancel(ctx)
	cancel2()
	if _, err := l.acquire(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire with an ended context: %v", err)
	}
}

func TestThrottlingNext(t *testing.T) {
	ctx := context.Background()
	var th throttling
	if _, again, isThrottle := th.next(ctx, errors.New("connection reset"), time.Second); again || isThrottle {
		t.Error("a transport error read as throttling")
	}
	for i := range maxThrottleRetries {
		asked, again, isThrottle := th.next(ctx, responseError(429, "7"), time.Second)
		if asked != 7*time.Second || !again || !isThrottle {
			t.Fatalf("429 #%d: asked %s, again %v, throttle %v", i+1, asked, again, isThrottle)
		}
	}
	if _, again, isThrottle := th.next(ctx, responseError(429, "7"), time.Second); again || !isThrottle {
		t.Error("retried past maxThrottleRetries")
	}
	// 503 without Retry-After backs off on its own count.
	th = throttling{}
	asked, _, _ := th.next(ctx, responseError(503, ""), time.Second)
	if asked < 800*time.Millisecond || asked >= 1300*time.Millisecond {
		t.Errorf("first back-off %s", asked)
	}
	// A pause past the deadline is not waited for.
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	th = throttling{}
	if _, again, _ := th.next(dctx, responseError(429, "30"), time.Second); again || th.asked != 30*time.Second {
		t.Errorf("Retry-After past the deadline: again %v, asked %s", again, th.asked)
	}
}

// responseError is what azsecrets returns for an error answer.
func responseError(status int, retryAfterHeader string) error {
	h := http.Header{}
	if retryAfterHeader != "" {
		h.Set("Retry-After", retryAfterHeader)
	}
	return &azcore.ResponseError{StatusCode: status, RawResponse: &http.Response{StatusCode: status, Header: h}}
}

// FuzzRetryAfter: whatever the headers of a throttling answer hold, the
// delay read from them is what they say or nothing, never a panic.
func FuzzRetryAfter(f *testing.F) {
	f.Add("", "", "1")
	f.Add("250", "", "3")
	f.Add("", "1500", "")
	f.Add("", "", "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add("-5", "x", "99999999999999999999")
	f.Fuzz(func(t *testing.T, ms, xms, ra string) {
		h := http.Header{}
		for k, v := range map[string]string{"Retry-After-Ms": ms, "X-Ms-Retry-After-Ms": xms, "Retry-After": ra} {
			if v != "" {
				h.Set(k, v)
			}
		}
		d := retryAfter(h)
		if n, err := strconv.Atoi(ms); err == nil && n > 0 && d != time.Duration(n)*time.Millisecond {
			t.Errorf("Retry-After-Ms %q read as %s", ms, d)
		}
		if ms == "" && xms == "" {
			if n, err := strconv.Atoi(ra); err == nil && n > 0 && d != time.Duration(n)*time.Second {
				t.Errorf("Retry-After %q read as %s", ra, d)
			}
		}
	})
}
