// Package watch notices that a secret a running COMMAND was given has
// rotated, so that azexec --watch can restart COMMAND (or have it reload)
// with the new value instead of leaving it on the old one until someone
// restarts it by hand.
//
// # What is watched
//
// Only references without a version: a reference pinned to a version
// names a value that never changes, so it is neither polled nor ever the
// cause of a restart. A secret referenced several times (in any syntax)
// is polled once.
//
// # How
//
// Key Vault has no change notification a client on a laptop can receive,
// so the Poller asks. A read of a secret without a version answers with
// the id of the current version; a version other than the one COMMAND
// was given means the secret rotated. Every request goes through the
// same kind of providers.Fetcher as the first resolution, so the
// identity's credential serves one token per tenant and scope for the
// whole run.
//
// Rounds are spread: each waits the interval plus or minus a tenth, so
// that a team's azexec processes started together (a compose file, a
// Makefile) drift apart instead of asking a vault at the same instant.
// Each round asks a vault about at most Budget secrets; when a vault holds
// more watched secrets, the next rounds take the following ones, in turn,
// so that every secret is checked and no vault sees a burst. A check that
// fails (the network, a 403, throttling) is not a change: the Poller
// reports it and tries again next round.
//
// Nothing here holds or logs a value: a Change names variables, vaults,
// secrets and versions.
package watch

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/resolve"
)

// Defaults and limits of --watch.
const (
	// DefaultInterval is --watch without a value: often enough that a
	// rotated secret reaches a dev server within minutes, rarely enough to
	// cost a vault nothing.
	DefaultInterval = 5 * time.Minute
	// MinInterval is the shortest interval --watch accepts.
	MinInterval = 30 * time.Second
	// DefaultBudget is how many secrets a round asks one vault about.
	DefaultBudget = 25
	// jitter is the fraction of the interval a round may start early or late.
	jitter = 0.1
)

// Checker reads the current version of each reference (none of them
// pinned), as providers.Fetcher.Fetch does, one result per reference in
// the same order.
type Checker func(ctx context.Context, refs []providers.Reference) []providers.Result

// Watched is one secret COMMAND was given: the reference, the version
// read when COMMAND was started, and the variables that hold it.
type Watched struct {
	Ref       providers.Reference
	Version   string
	Variables []string
}

// Change is a watched secret whose current version is not the one COMMAND
// has.
type Change struct {
	Watched
	// Current is the version the vault now calls current.
	Current string
}

// Failure is a watched secret whose check failed this round.
type Failure struct {
	Watched
	Err error
}

// Poller checks watched secrets round by round. It is used by one
// goroutine at a time.
type Poller struct {
	check    Checker
	interval time.Duration
	budget   int
	cloud    resolve.Cloud
	// byVault holds each vault's watched secrets, in a stable order, and
	// next the position the following round starts at.
	byVault map[string][]Watched
	vaults  []string
	next    map[string]int
}

// New returns a Poller for the unpinned references among watched (pinned
// ones are dropped; several references to one secret version are polled
// once, naming every variable). budget <= 0 means DefaultBudget.
func New(check Checker, cloud resolve.Cloud, interval time.Duration, budget int, watched []Watched) *Poller {
	if budget <= 0 {
		budget = DefaultBudget
	}
	p := &Poller{check: check, interval: interval, budget: budget, cloud: cloud,
		byVault: map[string][]Watched{}, next: map[string]int{}}
	seen := map[string]int{} // key -> index in its vault's list
	for _, w := range watched {
		if w.Ref.Version != "" {
			continue
		}
		vault, key := w.Ref.VaultURL(cloud), w.Ref.Key(cloud)
		if i, ok := seen[key]; ok {
			list := p.byVault[vault]
			list[i].Variables = mergeNames(list[i].Variables, w.Variables)
			continue
		}
		if _, ok := p.byVault[vault]; !ok {
			p.vaults = append(p.vaults, vault)
		}
		seen[key] = len(p.byVault[vault])
		w.Variables = slices.Clone(w.Variables)
		p.byVault[vault] = append(p.byVault[vault], w)
	}
	return p
}

// mergeNames adds the names of b missing from a.
func mergeNames(a, b []string) []string {
	for _, n := range b {
		if !slices.Contains(a, n) {
			a = append(a, n)
		}
	}
	return a
}

// Len is the number of secrets watched.
func (p *Poller) Len() int {
	n := 0
	for _, l := range p.byVault {
		n += len(l)
	}
	return n
}

// Next is how long to wait before the next round: the interval, plus or
// minus up to a tenth of it, at random.
func (p *Poller) Next() time.Duration {
	spread := float64(p.interval) * jitter
	return p.interval + time.Duration((rand.Float64()*2-1)*spread)
}

// Round checks the secrets this round's budget allows and returns those
// whose current version changed, and those whose check failed.
func (p *Poller) Round(ctx context.Context) (changed []Change, failed []Failure) {
	batch := p.take()
	if len(batch) == 0 {
		return nil, nil
	}
	refs := make([]providers.Reference, len(batch))
	for i, w := range batch {
		refs[i] = w.Ref
	}
	results := p.check(ctx, refs)
	for i, w := range batch {
		res := results[i]
		switch {
		case res.Err != nil:
			failed = append(failed, Failure{Watched: w, Err: res.Err})
		case res.Version != "" && !strings.EqualFold(res.Version, w.Version):
			changed = append(changed, Change{Watched: w, Current: res.Version})
		}
	}
	return changed, failed
}

// take returns this round's secrets: at most budget per vault, starting
// where the last round stopped.
func (p *Poller) take() []Watched {
	var batch []Watched
	for _, v := range p.vaults {
		list := p.byVault[v]
		n := min(p.budget, len(list))
		start := p.next[v]
		for i := range n {
			batch = append(batch, list[(start+i)%len(list)])
		}
		p.next[v] = (start + n) % len(list)
	}
	return batch
}
