package main

import (
	"io"

	"github.com/azexec/azexec/internal/redact"
)

// scrubber is stderr behind the run's secret set: the logger and azexec's
// own error messages write through it, so a value that reached a log line
// or an error anyway (a server's echo, a library's message) is masked, in
// plain, percent-encoded or JSON-escaped form (see internal/redact). It
// is safe for concurrent Add and Write: tokens arrive from the goroutines
// that fetch Key Vault references and --token values while others log.
type scrubber struct {
	w   io.Writer
	set redact.Set
}

// Add registers a value to scrub (values shorter than redact.MinLen are
// ignored: they are not credentials, and masking them would mangle words).
func (s *scrubber) Add(v string) { s.set.Add(v) }

// Redact returns text with every registered value, and everything shaped
// like a credential, masked.
func (s *scrubber) Redact(text string) string { return s.set.Redact(text) }

// Write scrubs p and writes it in one call. It reports len(p) written, as
// the caller's bytes were all consumed.
func (s *scrubber) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, s.set.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
