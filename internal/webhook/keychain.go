package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// SecretReader returns the docker config JSON of one of a namespace's
// image pull secrets (kubeapi.go reads them from the API server).
type SecretReader interface {
	DockerConfig(ctx context.Context, namespace, name string) ([]byte, error)
}

// ACRAuth returns the credentials for an Azure Container Registry host
// through the webhook's own identity (the docker-credential exchange), or
// ok=false for a host that is not an ACR azexec answers for.
type ACRAuth func(ctx context.Context, host string) (user, password string, ok bool, err error)

// NewKeychain returns the credentials of one pod's pulls: the pod's
// imagePullSecrets first (as the kubelet uses them), then the webhook's
// own identity for ACR, then anonymous.
func NewKeychain(secrets SecretReader, acr ACRAuth) func(PullContext) authn.Keychain {
	return func(pull PullContext) authn.Keychain {
		return &podKeychain{secrets: secrets, acr: acr, pull: pull}
	}
}

type podKeychain struct {
	secrets SecretReader
	acr     ACRAuth
	pull    PullContext
}

func (k *podKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

// ResolveContext reads the pod's pull secrets only now, when a registry
// asks: a digest in the cache needs none.
func (k *podKeychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	host := r.RegistryStr()
	if k.secrets != nil {
		for _, s := range k.pull.Secrets {
			raw, err := k.secrets.DockerConfig(ctx, k.pull.Namespace, s)
			if err != nil {
				return nil, err
			}
			if cfg, ok := dockerConfigFor(raw, host); ok {
				return authn.FromConfig(cfg), nil
			}
		}
	}
	if k.acr != nil {
		user, pass, ok, err := k.acr(ctx, host)
		if err != nil {
			return nil, err
		}
		if ok {
			return authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}), nil
		}
	}
	return authn.Anonymous, nil
}

// dockerConfigFor finds host's entry in a docker config JSON: the
// {"auths": {...}} of .dockerconfigjson, or the bare map of the legacy
// .dockercfg. Keys may be a host or a URL ("https://host/v1/").
func dockerConfigFor(raw []byte, host string) (authn.AuthConfig, bool) {
	type entry struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	}
	var cfg struct {
		Auths map[string]entry `json:"auths"`
	}
	if json.Unmarshal(raw, &cfg) != nil {
		return authn.AuthConfig{}, false
	}
	if cfg.Auths == nil {
		var legacy map[string]entry
		if json.Unmarshal(raw, &legacy) != nil {
			return authn.AuthConfig{}, false
		}
		cfg.Auths = legacy
	}
	for key, e := range cfg.Auths {
		if registryKey(key) != host && !(host == "index.docker.io" && registryKey(key) == "docker.io") {
			continue
		}
		a := authn.AuthConfig{Username: e.Username, Password: e.Password}
		if a.Username == "" && e.Auth != "" {
			if dec, err := base64.StdEncoding.DecodeString(e.Auth); err == nil {
				a.Username, a.Password, _ = strings.Cut(string(dec), ":")
			}
		}
		return a, a.Username != "" || a.Password != ""
	}
	return authn.AuthConfig{}, false
}

// registryKey reduces a docker config key to host[:port].
func registryKey(key string) string {
	key = strings.ToLower(strings.TrimSpace(key))
	if _, rest, ok := strings.Cut(key, "://"); ok {
		key = rest
	}
	host, _, _ := strings.Cut(key, "/")
	return host
}
