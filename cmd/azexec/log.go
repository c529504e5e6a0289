package main

import (
	"bytes"
	"io"
	"strings"
	"sync"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/fail"
)

// newLogger builds the stderr logger. Everything azexec logs goes through a
// scrubber that knows every secret and token of the run: azexec logs names,
// never values, and the scrubber is the second wall should a library
// ever print one (the SDK's trace output included).
func newLogger(s *scrubber, level, format string) (hclog.Logger, *scrubber, error) {
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		return nil, nil, fail.New(fail.Usage, "unknown log level %q", level).
			WithHint("use trace, debug, info, warn, error or off")
	}
	if format != "text" && format != "json" {
		return nil, nil, fail.New(fail.Usage, "unknown log format %q", format).WithHint("use text or json")
	}
	l := hclog.New(&hclog.LoggerOptions{
		Name:       "azexec",
		Level:      lvl,
		JSONFormat: format == "json",
		Output:     s,
		Color:      hclog.ColorOff,
	})
	return l, s, nil
}

// routeSDKLog sends the Azure SDK's log events into l: authentication
// events at debug, HTTP traffic and retries at trace. It returns a function
// that detaches the listener again.
func routeSDKLog(l hclog.Logger) func() {
	if !l.IsDebug() && !l.IsTrace() {
		return func() {}
	}
	sdk := l.Named("sdk")
	azlog.SetListener(func(ev azlog.Event, msg string) {
		if ev == azidentity.EventAuthentication {
			sdk.Debug(msg, "event", string(ev))
			return
		}
		sdk.Trace(msg, "event", string(ev))
	})
	return func() { azlog.SetListener(nil) }
}

// publicName reports whether a variable's name says its value is an
// identifier, a host or a path, which azexec logs by design (tenant and
// client ids): env-file values of every other name are scrubbed. URLs are
// not public: they may carry a password.
func publicName(name string) bool {
	for _, suffix := range []string{"_ID", "_HOST", "_LOCATION", "_PATH", "_FILE"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// scrubber replaces every registered secret in what passes through it.
type scrubber struct {
	w       io.Writer
	mu      sync.Mutex
	secrets []string
}

// minSecret is the shortest value scrubbed: shorter ones would mangle
// ordinary words and are not credentials anyway.
const minSecret = 6

// Add registers a value to scrub.
func (s *scrubber) Add(v string) {
	if len(v) < minSecret {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = append(s.secrets, v)
}

// Redact returns text with every registered value replaced.
func (s *scrubber) Redact(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	return text
}

func (s *scrubber) Write(p []byte) (int, error) {
	s.mu.Lock()
	out := p
	for _, v := range s.secrets {
		if bytes.Contains(out, []byte(v)) {
			out = []byte(strings.ReplaceAll(string(out), v, "[redacted]"))
		}
	}
	s.mu.Unlock()
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
