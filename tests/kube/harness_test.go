package kube

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/azexec/azexec/internal/webhook"
	"github.com/azexec/azexec/tests/testenv"
)

// cluster is an etcd and a kube-apiserver on 127.0.0.1, and the azexec
// webhook serving it.
type cluster struct {
	dir       string
	azexec    string
	apiURL    string
	apiCA     []byte
	apiCAFile string
	token     string
	tokenFile string
	client    *kubernetes.Clientset
	config    *rest.Config
	warnings  *warnings

	webhookURL string
	webhookCA  []byte
	webhookLog *syncBuffer
	procs      []*exec.Cmd
}

var theCluster *cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := testenv.RequireOffline(); err != nil {
		fmt.Fprintf(os.Stderr, "tests/kube: run inside tests/offline.sh: %v\n", err)
		return 1
	}
	c, err := startCluster()
	if c != nil {
		defer c.stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tests/kube: %v\n", err)
		return 1
	}
	theCluster = c
	return m.Run()
}

// syncBuffer collects a process's stderr for the test to read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// warnings collects the API server's warning headers (an admission
// response's warnings reach the client that way).
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startCluster() (*cluster, error) {
	dir, err := os.MkdirTemp("", "azexec-kube-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, warnings: &warnings{}, webhookLog: &syncBuffer{}}
	root, err := filepath.Abs("../..")
	if err != nil {
		return c, err
	}
	c.azexec = filepath.Join(dir, "azexec")
	if err := testenv.BuildAzexec(root, c.azexec, false); err != nil {
		return c, fmt.Errorf("building azexec: %v", err)
	}
	apiserver, err := apiserverBinary()
	if err != nil {
		return c, err
	}
	etcdURL, err := c.startEtcd()
	if err != nil {
		return c, err
	}
	if err := c.startAPIServer(apiserver, etcdURL); err != nil {
		return c, err
	}
	if err := c.startWebhook(); err != nil {
		return c, err
	}
	return c, nil
}

// apiserverBinary runs apiserver.sh: the cached kube-apiserver, built first
// when the cache lacks it.
func apiserverBinary() (string, error) {
	cmd := exec.Command("./apiserver.sh")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("apiserver.sh: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (c *cluster) start(name string, stderr *syncBuffer, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	if stderr != nil {
		cmd.Stdout, cmd.Stderr = stderr, stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.procs = append(c.procs, cmd)
	return cmd, nil
}

func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	if os.Getenv("AZEXEC_KUBE_KEEP") == "" {
		os.RemoveAll(c.dir)
	}
}

// startEtcd runs the etcd on PATH (Debian's etcd-server) on loopback.
func (c *cluster) startEtcd() (string, error) {
	client, err := freePort()
	if err != nil {
		return "", err
	}
	peer, err := freePort()
	if err != nil {
		return "", err
	}
	cu, pu := fmt.Sprintf("http://127.0.0.1:%d", client), fmt.Sprintf("http://127.0.0.1:%d", peer)
	log := &syncBuffer{}
	if _, err := c.start("etcd", log, "--name", "test", "--data-dir", filepath.Join(c.dir, "etcd"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu, "--listen-peer-urls", pu,
		"--initial-advertise-peer-urls", pu, "--initial-cluster", "test="+pu, "--unsafe-no-fsync",
		"--log-level", "warn"); err != nil {
		return "", fmt.Errorf("starting etcd (Debian: etcd-server): %v", err)
	}
	if err := waitHTTP(http.DefaultClient, cu+"/health", "", 60*time.Second); err != nil {
		return "", fmt.Errorf("etcd did not start: %v\n%s", err, log.String())
	}
	return cu, nil
}

// startAPIServer runs kube-apiserver against etcd, on 127.0.0.1 only: no
// endpoint reconciler (no controller-manager, and the advertised address
// is loopback), no ServiceAccount admission (no controller creates the
// default account), a static token for the test and the webhook.
func (c *cluster) startAPIServer(bin, etcdURL string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	pair, err := webhook.NewServingPair([]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, 24*time.Hour)
	if err != nil {
		return err
	}
	c.apiCA = pair.CACert
	files := map[string][]byte{"api-ca.crt": pair.CACert, "api.crt": pair.Cert, "api.key": pair.Key}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, _ := x509.MarshalECPrivateKey(saKey)
	files["sa.key"] = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	c.token = randomHex(24)
	files["tokens.csv"] = []byte(c.token + ",admin,admin-uid,system:masters\n")
	files["token"] = []byte(c.token)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(c.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	c.apiCAFile = filepath.Join(c.dir, "api-ca.crt")
	c.tokenFile = filepath.Join(c.dir, "token")
	c.apiURL = fmt.Sprintf("https://127.0.0.1:%d", port)
	log := &syncBuffer{}
	if _, err := c.start(bin, log,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", fmt.Sprint(port),
		"--endpoint-reconciler-type", "none",
		"--tls-cert-file", "api.crt", "--tls-private-key-file", "api.key",
		"--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", "sa.key",
		"--service-account-signing-key-file", "sa.key", "--service-cluster-ip-range", "10.0.0.0/24",
		"--token-auth-file", "tokens.csv", "--authorization-mode", "RBAC",
		"--disable-admission-plugins", "ServiceAccount", "--profiling=false", "--v=0"); err != nil {
		return err
	}
	cfg := &rest.Config{Host: c.apiURL, BearerToken: c.token, TLSClientConfig: rest.TLSClientConfig{CAData: pair.CACert},
		QPS: 1000, Burst: 1000, WarningHandler: c.warnings, Timeout: 60 * time.Second}
	tc, err := rest.TransportFor(cfg)
	if err != nil {
		return err
	}
	if err := waitHTTP(&http.Client{Transport: tc, Timeout: 5 * time.Second}, c.apiURL+"/readyz", "", 3*time.Minute); err != nil {
		return fmt.Errorf("kube-apiserver did not become ready: %v\n%s", err, tail(log.String(), 4000))
	}
	c.config = cfg
	c.client, err = kubernetes.NewForConfig(cfg)
	return err
}

func waitHTTP(client *http.Client, url, _ string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return last
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// ctx is a bounded context for one API call sequence.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func bg() context.Context { return context.Background() }
