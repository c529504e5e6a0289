package webhook

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertFiles serves the certificate and key in two files and reloads them
// when they change: cert-manager rotates the Secret, the kubelet swaps the
// mounted files, and the next TLS handshake uses the new pair without a
// restart. A pair that fails to load (caught mid-swap) leaves the old one
// in use until a later check loads the new one.
type CertFiles struct {
	CertFile, KeyFile string
	// CheckEvery limits how often the files are stat'ed (default 1s).
	CheckEvery time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// Load reads the pair once; the webhook refuses to start without it.
func (c *CertFiles) Load() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reload(true)
}

// GetCertificate is tls.Config.GetCertificate.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	every := c.CheckEvery
	if every <= 0 {
		every = time.Second
	}
	if time.Since(c.checked) >= every {
		_ = c.reload(false)
	}
	if c.cert == nil {
		return nil, fmt.Errorf("no serving certificate loaded")
	}
	return c.cert, nil
}

// reload loads the pair when the files' size or time changed.
func (c *CertFiles) reload(force bool) error {
	c.checked = time.Now()
	stamp, err := fileStamp(c.CertFile, c.KeyFile)
	if err != nil {
		return err
	}
	if !force && stamp == c.stamp {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return fmt.Errorf("loading the serving certificate %q and key %q: %w", c.CertFile, c.KeyFile, err)
	}
	c.cert, c.stamp = &cert, stamp
	return nil
}

func fileStamp(paths ...string) (string, error) {
	s := ""
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}
