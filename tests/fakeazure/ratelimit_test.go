package fakeazure

import (
	"testing"
	"time"
)

// TestBucket steps the vault rate limit with a made-up clock.
func TestBucket(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &bucket{perSecond: 100, tokens: 100, last: t0}
	for i := range 100 {
		if ok, _ := b.take(t0); !ok {
			t.Fatalf("request %d of a full bucket refused", i+1)
		}
	}
	ok, wait := b.take(t0)
	if ok || wait != 10*time.Millisecond {
		t.Errorf("101st request: passed %v, wait %s; want refused, 10ms", ok, wait)
	}
	// Refused requests take nothing; time refills at the rate.
	if ok, _ := b.take(t0.Add(10 * time.Millisecond)); !ok {
		t.Error("refused after a token's worth of time")
	}
	if ok, _ := b.take(t0.Add(10 * time.Millisecond)); ok {
		t.Error("passed with an empty bucket")
	}
	// A long idle fills it to one second's worth, no more.
	later := t0.Add(time.Hour)
	n := 0
	for {
		if ok, _ := b.take(later); !ok {
			break
		}
		n++
	}
	if n != 100 {
		t.Errorf("%d requests passed after an hour idle, want 100", n)
	}
}
