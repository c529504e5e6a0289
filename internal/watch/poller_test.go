package watch

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/resolve"
)

// fakeVault answers checks from a map of current versions by secret name,
// and counts the checks of each secret.
type fakeVault struct {
	current map[string]string
	fail    map[string]bool
	asked   map[string]int
}

func (f *fakeVault) check(_ context.Context, refs []providers.Reference) []providers.Result {
	out := make([]providers.Result, len(refs))
	for i, r := range refs {
		f.asked[r.Vault()+"/"+r.Secret]++
		if f.fail[r.Secret] {
			out[i].Err = &providers.FetchError{Ref: r, Status: 403, Reason: "forbidden", Err: errors.New("403")}
			continue
		}
		out[i].Version = f.current[r.Secret]
	}
	return out
}

func ref(vault, secret, version string) providers.Reference {
	return providers.Reference{Form: providers.FormShort, VaultName: vault, Secret: secret, Version: version}
}

func TestRoundFindsRotation(t *testing.T) {
	fv := &fakeVault{current: map[string]string{"db": "v2", "api": "v1"}, fail: map[string]bool{"broken": true}, asked: map[string]int{}}
	p := New(fv.check, resolve.Clouds["public"], time.Minute, 0, []Watched{
		{Ref: ref("kv-one", "db", ""), Version: "v1", Variables: []string{"DB"}},
		{Ref: ref("KV-ONE", "DB", ""), Version: "v1", Variables: []string{"DB_AGAIN"}}, // the same secret
		{Ref: ref("kv-one", "api", ""), Version: "v1", Variables: []string{"API"}},
		{Ref: ref("kv-one", "pinned", "00000000000000000000000000000001"), Version: "00000000000000000000000000000001", Variables: []string{"PINNED"}},
		{Ref: ref("kv-two", "broken", ""), Version: "v1", Variables: []string{"BROKEN"}},
	})
	if p.Len() != 3 {
		t.Fatalf("watched %d secrets, want 3 (pinned dropped, duplicate merged)", p.Len())
	}
	changed, failed := p.Round(context.Background())
	if len(changed) != 1 || changed[0].Ref.Secret != "db" || changed[0].Current != "v2" ||
		fmt.Sprint(changed[0].Variables) != "[DB DB_AGAIN]" {
		t.Errorf("changed %+v", changed)
	}
	if len(failed) != 1 || failed[0].Ref.Secret != "broken" {
		t.Errorf("failed %+v", failed)
	}
	if fv.asked["kv-one/pinned"] != 0 {
		t.Error("a pinned version was checked")
	}
	if fv.asked["kv-one/db"] != 1 {
		t.Errorf("db checked %d times in one round, want once", fv.asked["kv-one/db"])
	}
}

func TestBudgetTakesTurns(t *testing.T) {
	fv := &fakeVault{current: map[string]string{}, asked: map[string]int{}}
	var watched []Watched
	for i := range 5 {
		watched = append(watched, Watched{Ref: ref("big", fmt.Sprintf("s%d", i), ""), Version: "v"})
	}
	watched = append(watched, Watched{Ref: ref("small", "only", ""), Version: "v"})
	p := New(fv.check, resolve.Clouds["public"], time.Minute, 2, watched)
	for range 5 { // 5 rounds × 2 = every big secret twice
		p.Round(context.Background())
	}
	for i := range 5 {
		if n := fv.asked[fmt.Sprintf("big/s%d", i)]; n != 2 {
			t.Errorf("big/s%d checked %d times in 5 rounds with a budget of 2, want 2", i, n)
		}
	}
	if fv.asked["small/only"] != 5 {
		t.Errorf("small/only checked %d times, want every round", fv.asked["small/only"])
	}
}

func TestNextIsJittered(t *testing.T) {
	p := New(nil, resolve.Clouds["public"], 100*time.Second, 0, nil)
	seen := map[time.Duration]bool{}
	for range 50 {
		d := p.Next()
		if d < 90*time.Second || d > 110*time.Second {
			t.Fatalf("Next %s, want within 10%% of 100s", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Error("Next is always the same: no jitter")
	}
}
