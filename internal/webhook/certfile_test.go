package webhook

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCertFilesReload: a rotated pair is served at the next handshake
// once CheckEvery has passed, without a restart.
func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	write := func() *ServingPair {
		p, err := NewServingPair([]string{"svc"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "tls.crt"), p.Cert, 0o600)
		os.WriteFile(filepath.Join(dir, "tls.key"), p.Key, 0o600)
		return p
	}
	first := write()
	c := &CertFiles{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), CheckEvery: time.Nanosecond}
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a new mtime
	second := write()
	got, err := c.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(second.Cert)
	if string(got.Certificate[0]) != string(block.Bytes) {
		t.Error("the rotated certificate is not served")
	}
	_ = first
	// A half-written pair keeps the last good one.
	os.WriteFile(filepath.Join(dir, "tls.key"), []byte("garbage"), 0o600)
	if got, err := c.GetCertificate(nil); err != nil || string(got.Certificate[0]) != string(block.Bytes) {
		t.Errorf("a broken pair replaced the good one: %v", err)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatal(err)
	}
}
