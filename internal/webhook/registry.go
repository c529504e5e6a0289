package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/singleflight"
)

// Registry reads image configs with go-containerregistry and caches them
// by digest: an image's config never changes for a digest, so each digest
// costs one manifest and one config fetch for the life of the webhook. A
// tag's digest is remembered for TagTTL, so that a burst of pods naming one
// tag (a Deployment scaling up) costs one lookup, not one per pod.
//
// The cache is shared by all namespaces. A pod learns at most the
// entrypoint of an image another pod could read, never a credential; it
// still cannot pull an image its node is not allowed to.
type Registry struct {
	// Keychain returns the credentials for one pod's pulls: its
	// imagePullSecrets, then the webhook's own identity for ACR.
	Keychain func(PullContext) authn.Keychain
	// Transport carries the requests (tests: nil is http.DefaultTransport).
	Transport http.RoundTripper
	// Timeout bounds one image's lookup; it must be well inside the
	// webhook's timeoutSeconds in the MutatingWebhookConfiguration.
	Timeout time.Duration
	// TagTTL is how long a tag's digest is trusted.
	TagTTL time.Duration
	// Platform picks the image of a multi-platform index (linux/amd64).
	Platform v1.Platform

	mu      sync.Mutex
	tags    map[string]tagEntry
	configs map[string]ImageConfig
	flight  singleflight.Group
	// Lookups counts registry round trips that were not answered from the
	// cache (the benchmark checks it is once per digest).
	Lookups atomic.Int64
}

type tagEntry struct {
	digest  string
	expires time.Time
}

// maxCached bounds both maps; when one is full it starts over, which costs
// one lookup per image again and keeps the memory bounded.
const maxCached = 4096

// ReadEntrypoint returns the Entrypoint and Cmd of image's config. Errors
// name the image and the registry's reason, never a credential.
func (r *Registry) ReadEntrypoint(ctx context.Context, image string, pull PullContext) (ImageConfig, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return ImageConfig{}, fmt.Errorf("image %q is not a valid reference", clip(image))
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	digest, err := r.digest(ctx, ref, pull)
	if err != nil {
		return ImageConfig{}, imageError(image, err)
	}
	if cfg, ok := r.cachedConfig(digest); ok {
		return cfg, nil
	}
	v, err, _ := r.flight.Do("config "+digest, func() (any, error) {
		if cfg, ok := r.cachedConfig(digest); ok {
			return cfg, nil
		}
		cfg, err := r.fetchConfig(ctx, ref.Context().Digest(digest), pull)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		if r.configs == nil || len(r.configs) >= maxCached {
			r.configs = map[string]ImageConfig{}
		}
		r.configs[digest] = cfg
		r.mu.Unlock()
		return cfg, nil
	})
	if err != nil {
		return ImageConfig{}, imageError(image, err)
	}
	return v.(ImageConfig), nil
}

// imageError is the message a denial shows: the image, and why.
func imageError(image string, err error) error {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "the registry did not answer in time"
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return fmt.Errorf("cannot read the entrypoint of image %q (the container names no command): %s", clip(image), msg)
}

func (r *Registry) cachedConfig(digest string) (ImageConfig, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, ok := r.configs[digest]
	return cfg, ok
}

// digest returns the digest ref names: its own, or the tag's, from the
// cache or a HEAD request.
func (r *Registry) digest(ctx context.Context, ref name.Reference, pull PullContext) (string, error) {
	if d, ok := ref.(name.Digest); ok {
		return d.DigestStr(), nil
	}
	key := ref.Name()
	r.mu.Lock()
	e, ok := r.tags[key]
	r.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.digest, nil
	}
	v, err, _ := r.flight.Do("tag "+key, func() (any, error) {
		r.Lookups.Add(1)
		desc, err := remote.Head(ref, r.options(ctx, pull)...)
		if err != nil {
			return "", err
		}
		ttl := r.TagTTL
		if ttl <= 0 {
			ttl = time.Minute
		}
		r.mu.Lock()
		if r.tags == nil || len(r.tags) >= maxCached {
			r.tags = map[string]tagEntry{}
		}
		r.tags[key] = tagEntry{digest: desc.Digest.String(), expires: time.Now().Add(ttl)}
		r.mu.Unlock()
		return desc.Digest.String(), nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (r *Registry) fetchConfig(ctx context.Context, ref name.Digest, pull PullContext) (ImageConfig, error) {
	r.Lookups.Add(1)
	img, err := remote.Image(ref, r.options(ctx, pull)...)
	if err != nil {
		return ImageConfig{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return ImageConfig{}, err
	}
	return ImageConfig{Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd}, nil
}

func (r *Registry) options(ctx context.Context, pull PullContext) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithUserAgent("azexec-webhook")}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	if r.Keychain != nil {
		opts = append(opts, remote.WithAuthFromKeychain(r.Keychain(pull)))
	}
	p := r.Platform
	if p.OS == "" {
		p = v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	return append(opts, remote.WithPlatform(p))
}
