package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

type fakeSecrets map[string]string

func (f fakeSecrets) DockerConfig(_ context.Context, ns, name string) ([]byte, error) {
	return []byte(f[ns+"/"+name]), nil
}

// TestRegistryOncePerDigest: 64 concurrent reads of one private tag cost
// one HEAD, one manifest and one config fetch, with the pull secret.
func TestRegistryOncePerDigest(t *testing.T) {
	var requests atomic.Int64
	inner := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "me" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/v2/" {
			requests.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(64, 1)
	img, _ = mutate.Config(img, v1.Config{Entrypoint: []string{"/e"}, Cmd: []string{"c"}})
	ref, _ := name.ParseReference(host + "/a/b:1")
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "me", Password: "pw"})); err != nil {
		t.Fatal(err)
	}
	requests.Store(0)
	secrets := fakeSecrets{"ns/pull": `{"auths":{"http://` + host + `/v1/":{"auth":"bWU6cHc="}}}`}
	r := &Registry{Keychain: NewKeychain(secrets, nil)}
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			cfg, err := r.ReadEntrypoint(context.Background(), host+"/a/b:1", PullContext{Namespace: "ns", Secrets: []string{"pull"}})
			if err != nil || cfg.Entrypoint[0] != "/e" || cfg.Cmd[0] != "c" {
				t.Errorf("got %+v, %v", cfg, err)
			}
		})
	}
	wg.Wait()
	if n := requests.Load(); n != 3 {
		t.Errorf("%d registry requests, want 3 (HEAD, manifest, config)", n)
	}
	_, err := r.ReadEntrypoint(context.Background(), host+"/a/b:2", PullContext{Namespace: "ns", Secrets: []string{"pull"}})
	if err == nil || !strings.Contains(err.Error(), `"`+host+`/a/b:2"`) || strings.Contains(err.Error(), "pw") {
		t.Errorf("missing tag: %v", err)
	}
}

func TestDockerConfigFor(t *testing.T) {
	for _, c := range []struct {
		raw, host, user string
	}{
		{`{"auths":{"reg.io":{"username":"u","password":"p"}}}`, "reg.io", "u"},
		{`{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}}`, "index.docker.io", "u"},
		{`{"reg.io:5000":{"auth":"dTpw"}}`, "reg.io:5000", "u"},
		{`{"auths":{"other.io":{"auth":"dTpw"}}}`, "reg.io", ""},
	} {
		a, ok := dockerConfigFor([]byte(c.raw), c.host)
		if a.Username != c.user || ok != (c.user != "") {
			t.Errorf("%s for %s: %+v %v", c.raw, c.host, a, ok)
		}
	}
}
