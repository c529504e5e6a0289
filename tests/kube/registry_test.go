package kube

import (
	"io"
	"log"
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

// testRegistry is go-containerregistry's in-memory registry on loopback,
// counting the requests the webhook makes. Repositories under private/
// need the basic-auth pair user/pass.
type testRegistry struct {
	host      string
	user      string
	pass      string
	manifests atomic.Int64 // GET and HEAD of manifests
	blobs     atomic.Int64
}

var (
	regOnce sync.Once
	theReg  *testRegistry
)

// sharedRegistry starts the registry once and pushes the images the tests
// use: app/entry (Entrypoint, no Cmd), app/both (both), private/app.
func sharedRegistry(t *testing.T) *testRegistry {
	t.Helper()
	regOnce.Do(func() {
		r := &testRegistry{user: "puller", pass: "pw-" + randomHex(8)}
		inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/private/") {
				u, p, ok := req.BasicAuth()
				if !ok || u != r.user || p != r.pass {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
					return
				}
			}
			if strings.Contains(req.URL.Path, "/manifests/") {
				r.manifests.Add(1)
			}
			if strings.Contains(req.URL.Path, "/blobs/") && req.Method == http.MethodGet {
				r.blobs.Add(1)
			}
			inner.ServeHTTP(w, req)
		}))
		r.host = strings.TrimPrefix(srv.URL, "http://")
		push := func(repo string, cfg v1.Config) {
			img, err := random.Image(256, 1)
			if err != nil {
				panic(err)
			}
			img, err = mutate.Config(img, cfg)
			if err != nil {
				panic(err)
			}
			ref, err := name.ParseReference(r.host + "/" + repo)
			if err != nil {
				panic(err)
			}
			if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass})); err != nil {
				panic(err)
			}
		}
		push("app/entry:1", v1.Config{Entrypoint: []string{"/app", "--serve"}})
		push("app/both:1", v1.Config{Entrypoint: []string{"/app"}, Cmd: []string{"--port", "8080"}})
		push("private/app:1", v1.Config{Entrypoint: []string{"/private-app"}})
		for i := 0; i < 4; i++ {
			push("bench/app:"+string(rune('a'+i)), v1.Config{Entrypoint: []string{"/bench", string(rune('a' + i))}})
		}
		theReg = r
	})
	return theReg
}

func (r *testRegistry) lookups() int64 { return r.manifests.Load() + r.blobs.Load() }
