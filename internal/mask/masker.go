package mask

import (
	"sync"
	"sync/atomic"
)

// Masker holds the values to mask and the automaton built from them. One
// Masker serves any number of Writers (a child's stdout and stderr); Add
// may be called at any time, from any goroutine, for values that become
// known later (a rotated secret): each Writer applies them from its next
// Write on.
type Masker struct {
	mu     sync.Mutex // serializes Add
	values map[string]bool
	forms  []string
	a      atomic.Pointer[automaton]
}

// New returns a Masker for values; values shorter than MinLength are
// skipped (see TooShort).
func New(values ...string) *Masker {
	m := &Masker{values: map[string]bool{}}
	m.a.Store(compile(nil))
	m.Add(values...)
	return m
}

// Add masks values too, from each Writer's next Write on. Values shorter
// than MinLength, and values already known, are skipped. Safe for
// concurrent use.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	added := false
	for _, v := range values {
		if TooShort(v) || m.values[v] {
			continue
		}
		m.values[v] = true
		m.forms = append(m.forms, Forms(v)...)
		added = true
	}
	if added {
		m.a.Store(compile(m.forms))
	}
}

// Len is the number of values masked.
func (m *Masker) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.values)
}
