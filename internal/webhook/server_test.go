package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestServeAndShutdown: /mutate answers over TLS with one log line that
// names the pod and holds no value; cancelling (TERM) turns /readyz off and
// Serve returns nil once in-flight requests are done.
func TestServeAndShutdown(t *testing.T) {
	dir := t.TempDir()
	p, err := NewServingPair(nil, []net.IP{net.ParseIP("127.0.0.1")}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "c"), p.Cert, 0o600)
	os.WriteFile(filepath.Join(dir, "k"), p.Key, 0o600)
	certs := &CertFiles{CertFile: filepath.Join(dir, "c"), KeyFile: filepath.Join(dir, "k")}
	if err := certs.Load(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	s := &Server{Options: testOptions, Certs: certs, Log: hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Info}), ShutdownGrace: 5 * time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CACert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + l.Addr().String()
	body := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"abc","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"operation":"CREATE","namespace":"ns",
		"object":{"metadata":{"name":"web-1","annotations":{"azexec.io/inject":"true"}},"spec":{"containers":[{"name":"a","command":["/x","--password=s3cr3t"],"env":[{"name":"V","value":"v4lue"}]}]}}}}`
	resp, err := hc.Post(base+"/mutate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var rev review
	json.NewDecoder(resp.Body).Decode(&rev)
	resp.Body.Close()
	if rev.Response == nil || rev.Response.UID != "abc" || !rev.Response.Allowed || rev.Response.PatchType != "JSONPatch" {
		t.Fatalf("answer %+v", rev.Response)
	}
	if !strings.Contains(log.String(), "admission: namespace=ns pod=web-1 containers=a decision=wrapped") {
		t.Errorf("log: %s", log.String())
	}
	if strings.Contains(log.String(), "s3cr3t") || strings.Contains(log.String(), "v4lue") {
		t.Errorf("a value is in the log: %s", log.String())
	}
	if r, err := hc.Get(base + "/readyz"); err != nil || r.StatusCode != 200 {
		t.Fatalf("readyz: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}
