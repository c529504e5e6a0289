package providers

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Adaptive concurrency, per vault.
//
// A fixed number of requests at once is either too few (200 references at
// 50 ms a request take 13 rounds at 16) or too many for a vault that many
// processes share. So each vault of a run gets its own limit, adjusted as
// TCP adjusts its window (additive increase, multiplicative decrease): it
// starts at its ceiling (perVault, or --concurrency if lower), halves when
// the vault throttles (429, 503), and grows back by one per limit's worth
// of successes (about one per round trip). A throttling
// answer also pauses the vault: no request to it starts before the
// Retry-After the answer asked for (plus jitter, so that the processes a
// vault turned away do not come back at one instant), or an exponential
// back-off when it named none.
//
// The answers to one burst all report the same overload, so the limit
// halves once per burst, not once per answer: a throttled request halves
// the limit only if no other halving happened since it was admitted (its
// ticket's generation is still current), as TCP reduces its window once
// per window of losses.

// perVault is the ceiling of each vault's limit, and where it starts: 64
// requests at once, at 50 ms each, are already 1,280 a second, beyond the
// 400 a second that Key Vault sustains per vault (4,000 GETs per 10 s),
// so more would only buy throttling; and it is the number of connections
// to one vault the HTTP clients keep (emulatorClient, resolve.Network),
// so that a request that starts as another ends waits for that one's
// connection instead of opening a new one.
const perVault = 64

// limiter is one vault's adaptive limit. It keeps no clock of its own:
// admit, done and throttled take the time, so that tests can step it.
type limiter struct {
	mu       sync.Mutex
	limit    int // requests allowed in flight, at least 1
	max      int // the ceiling: perVault, or --concurrency if lower
	acked    int // successes since the limit last changed
	inflight int
	gen      uint64    // bumped by each halving
	until    time.Time // no request starts before this (a Retry-After)
	changed  chan struct{}
	// jitter is added to the pause the first answer of a burst asks for.
	jitter func(time.Duration) time.Duration
}

// ticket is an admitted request: the generation it was admitted in.
type ticket struct{ gen uint64 }

// newLimiter returns a limiter whose ceiling, and start, is
// min(perVault, bound).
func newLimiter(bound int, jitter func(time.Duration) time.Duration) *limiter {
	ceiling := max(1, min(perVault, bound))
	return &limiter{limit: ceiling, max: ceiling, changed: make(chan struct{}), jitter: jitter}
}

// admit admits a request at now if the vault is not paused and the limit
// allows one more. Otherwise it returns how long the pause lasts (0 when
// the request must wait for one in flight to end) and a channel closed at
// the next change.
func (l *limiter) admit(now time.Time) (t ticket, ok bool, wait time.Duration, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.until.Sub(now); wait > 0 {
		return ticket{}, false, wait, l.changed
	}
	if l.inflight >= l.limit {
		return ticket{}, false, 0, l.changed
	}
	l.inflight++
	return ticket{l.gen}, true, 0, nil
}

// done ends an admitted request that was not throttled. Successes (the
// vault answered, whatever the status) grow the limit by one for each
// limit's worth of them: one per round trip of a full window.
func (l *limiter) done(_ ticket, success bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if success && l.limit < l.max {
		l.acked++
		if l.acked >= l.limit {
			l.limit++
			l.acked = 0
		}
	}
	l.wake()
}

// throttled ends an admitted request the vault throttled at now, asking
// for a pause of asked (its Retry-After, or a back-off). The first
// throttled answer of a burst halves the limit and pauses the vault for
// asked plus jitter; the others of the same burst only make sure that the
// pause lasts at least what they asked.
func (l *limiter) throttled(t ticket, now time.Time, asked time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	pause := asked
	if t.gen == l.gen {
		l.gen++
		l.limit = max(1, l.limit/2)
		l.acked = 0
		if l.jitter != nil {
			pause += l.jitter(asked)
		}
	}
	if end := now.Add(pause); end.After(l.until) {
		l.until = end
	}
	l.wake()
}

// wake tells the waiting requests that something changed. l.mu is held.
func (l *limiter) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// current returns the limit, for logs and tests.
func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// pausedPastDeadline is acquire's error when the vault's pause ends after
// the run's deadline: waiting cannot help.
type pausedPastDeadline struct{ wait time.Duration }

func (e pausedPastDeadline) Error() string {
	return fmt.Sprintf("the vault is throttling for another %s", e.wait.Round(time.Millisecond))
}

// acquire waits until l admits a request, ctx ends, or the vault's pause
// would outlast ctx's deadline.
func (l *limiter) acquire(ctx context.Context) (ticket, error) {
	for {
		t, ok, wait, changed := l.admit(time.Now())
		if ok {
			return t, nil
		}
		if deadline, has := ctx.Deadline(); has && wait > 0 && time.Until(deadline) < wait {
			return ticket{}, pausedPastDeadline{wait}
		}
		if !l.wait(ctx, wait, changed) {
			return ticket{}, ctx.Err()
		}
	}
}

// wait waits for the pause to end (when wait > 0) or for a change; it
// reports false when ctx ended first.
func (l *limiter) wait(ctx context.Context, wait time.Duration, changed <-chan struct{}) bool {
	var timer <-chan time.Time
	if wait > 0 {
		tm := time.NewTimer(wait)
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-changed:
	case <-timer:
	}
	return true
}

// wasThrottled reports whether the vault ever throttled this run.
func (l *limiter) wasThrottled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen > 0
}
