package resolve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
)

// fileProfiles is a profile store on the encrypted file backend in a
// temporary directory, holding profile dev.
func fileProfiles(t *testing.T, p profile.Profile, secret string) *profile.Store {
	t.Helper()
	s := profile.NewStore(t.TempDir(), "file", func(string, bool, bool) (string, error) { return "test-only passphrase", nil })
	if _, err := s.Add(p, profile.Secret(secret)); err != nil {
		t.Fatal(err)
	}
	return s
}

var devProfile = profile.Profile{Name: "dev", TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
	ClientID: "0b4e3f7c-1111-2222-3333-444455556666", Subscription: "11111111-2222-3333-4444-555555555555", Cloud: "china"}

func TestProfileSource(t *testing.T) {
	store := fileProfiles(t, devProfile, "profile-secret")
	cfg := cfgWith(map[string]string{"AZURE_SUBSCRIPTION_ID": "from-env"})
	cfg.Profiles = store
	if _, err := (profileSource{}).Load(cfg); !IsUnavailable(err) {
		t.Fatalf("no profile named: %v", err)
	}
	cfg.Profile = "dev"
	cand, err := profileSource{}.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := cand.Identity
	if id.SP == nil || id.SP.ClientSecret.Reveal() != "profile-secret" || id.SP.ClientID != devProfile.ClientID {
		t.Fatalf("service principal = %+v", id.SP)
	}
	if id.Profile != "dev" || id.Keyring != "file" || id.Subscription != devProfile.Subscription || id.Cloud.Name != "china" {
		t.Errorf("identity = %+v", id)
	}
	if !strings.Contains(id.Kind, `profile "dev"`) || !strings.Contains(cand.Note, "file keyring") {
		t.Errorf("kind %q, note %q", id.Kind, cand.Note)
	}
	cfg.CloudExplicit = true
	if cand, _ := (profileSource{}).Load(cfg); cand.Identity.Cloud.Name != "public" {
		t.Errorf("--cloud did not win over the profile's cloud: %s", cand.Identity.Cloud.Name)
	}
}

func TestProfileSourceSecretRemovedByHand(t *testing.T) {
	store := fileProfiles(t, devProfile, "profile-secret")
	if err := os.Remove(filepath.Join(store.FileDir(), "profile:dev")); err != nil {
		t.Fatal(err)
	}
	cfg := cfgWith(nil)
	cfg.Profiles, cfg.Profile = store, "dev"
	_, err := (profileSource{}).Load(cfg)
	if fail.KindOf(err) != fail.Identity || !strings.Contains(fail.HintOf(err), "profile rotate dev") {
		t.Fatalf("err = %v (hint %q)", err, fail.HintOf(err))
	}
	// Through the chain: the error and its hint survive, and nothing else
	// is tried.
	ch := &Chain{Sources: []Source{profileSource{}}}
	_, attempts, err := ch.Resolve(context.Background(), cfg)
	if fail.KindOf(err) != fail.Identity || len(attempts) != 1 || attempts[0].Hint == "" {
		t.Errorf("chain: %v, %+v", err, attempts)
	}
}

func TestSelectProfile(t *testing.T) {
	for _, identity := range []string{"", "auto", "profile"} {
		src, err := SelectProfile(identity, "dev")
		if err != nil || len(src) != 1 || src[0].Name() != "profile" {
			t.Errorf("SelectProfile(%q) = %v, %v", identity, src, err)
		}
	}
	if _, err := SelectProfile("cli", "dev"); fail.KindOf(err) != fail.Usage {
		t.Errorf("--identity cli with --profile: %v", err)
	}
}

// cachedCred is what a test Cache hook returns: it serves a fixed token
// without calling the wrapped credential.
type cachedCred struct{ token string }

func (c cachedCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestChainProvesFromTheCache: the proof request goes through the Cache
// hook for a service principal (so a cached token proves it), with a
// binding that changes with the secret; other identities never reach it.
func TestChainProvesFromTheCache(t *testing.T) {
	var ids []CacheID
	hook := func(id CacheID, _ azcore.TokenCredential) azcore.TokenCredential {
		ids = append(ids, id)
		return cachedCred{token: jwt(`{"tid":"t","oid":"o"}`)}
	}
	inner := &stubCred{token: jwt(`{}`)}
	sp := func(secret string) Source {
		return fixedSource{cand: &Candidate{Credential: inner, Identity: Identity{Cloud: Clouds["public"],
			SP: &ServicePrincipal{TenantID: "t", ClientID: "c", ClientSecret: Secret(secret)}}}}
	}
	for _, secret := range []string{"one", "two"} {
		ch := &Chain{Sources: []Source{sp(secret)}, Cache: hook}
		id, _, err := ch.Resolve(context.Background(), cfgWith(nil))
		if err != nil || id.ObjectID != "o" {
			t.Fatalf("Resolve = %+v, %v", id, err)
		}
	}
	if inner.calls.Load() != 0 {
		t.Errorf("the credential was called %d times: the proof did not use the cache", inner.calls.Load())
	}
	if len(ids) != 2 || ids[0].Identity != ids[1].Identity || ids[0].Binding == ids[1].Binding || ids[0].Tenant != "t" {
		t.Errorf("cache ids = %+v", ids)
	}
	ids = nil
	other := stubSource{name: "cli", cred: &stubCred{token: jwt(`{}`)}}
	if _, _, err := (&Chain{Sources: []Source{other}, Cache: hook}).Resolve(context.Background(), cfgWith(nil)); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("an identity without a service principal reached the cache: %+v", ids)
	}
}

// fixedSource loads a fixed candidate.
type fixedSource struct{ cand *Candidate }

func (fixedSource) Name() string { return "env" }

func (s fixedSource) Load(*Config) (*Candidate, error) {
	c := *s.cand
	return &c, nil
}
