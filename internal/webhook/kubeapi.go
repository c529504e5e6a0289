package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// KubeAPI reads image pull secrets from the API server with the webhook's
// service account: GET on one named secret, the only call the webhook
// makes (its Role grants get on secrets, nothing else). It is a few lines
// of REST rather than client-go, which would double the binary every pod
// runs.
type KubeAPI struct {
	// Server is the API server's base URL.
	Server string
	// TokenFile is read at each request: bound service account tokens
	// rotate, and the kubelet rewrites the file.
	TokenFile string
	Client    *http.Client
}

// NewKubeAPI returns a reader for server that trusts the CA in caFile.
func NewKubeAPI(server, tokenFile, caFile string) (*KubeAPI, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %q", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 5 * time.Second, MaxIdleConnsPerHost: 8}
	return &KubeAPI{Server: strings.TrimSuffix(server, "/"), TokenFile: tokenFile, Client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

// DockerConfig returns the docker config of the secret name in namespace:
// .dockerconfigjson or .dockercfg. Errors name the secret and the status,
// never its contents.
func (k *KubeAPI) DockerConfig(ctx context.Context, namespace, name string) ([]byte, error) {
	tok, err := os.ReadFile(k.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("reading the service account token: %w", err)
	}
	u := k.Server + "/api/v1/namespaces/" + url.PathEscape(namespace) + "/secrets/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Accept", "application/json")
	resp, err := k.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading image pull secret %q: %w", namespace+"/"+name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading image pull secret %q: API server answered %d", namespace+"/"+name, resp.StatusCode)
	}
	var s struct {
		Type string            `json:"type"`
		Data map[string][]byte `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("reading image pull secret %q: not a secret", namespace+"/"+name)
	}
	if b, ok := s.Data[".dockerconfigjson"]; ok {
		return b, nil
	}
	if b, ok := s.Data[".dockercfg"]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("image pull secret %q has type %q, not kubernetes.io/dockerconfigjson", namespace+"/"+name, clip(s.Type))
}
