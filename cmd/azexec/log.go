package main

import (
	"strings"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/redact"
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
//
// The SDK's messages hold server answers azexec does not control: its
// ResponseError and azidentity's AuthenticationFailedError carry the whole
// error body (a token endpoint or a vault that echoes the request puts a
// secret or the Authorization header there), and the retry policy logs
// transport errors. So every message is scrubbed first, then each body in
// it is cut to redact.BodyLimit bytes (scrubbing first: a cut must not
// leave half a secret the scrubber no longer recognises).
func routeSDKLog(l hclog.Logger, s *scrubber) func() {
	if !l.IsDebug() && !l.IsTrace() {
		return func() {}
	}
	sdk := l.Named("sdk")
	azlog.SetListener(func(ev azlog.Event, msg string) {
		msg = redact.ClipBody(s.Redact(msg), redact.BodyLimit)
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
