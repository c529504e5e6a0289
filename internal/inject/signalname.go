package inject

import (
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/azexec/azexec/internal/fail"
)

// ParseSignal reads a signal name as kill(1) accepts it: TERM, SIGTERM or
// sigterm. Only the signals programs conventionally read as stop or reload
// are accepted (SignalNames), not numbers: a typo must not become an
// unrelated signal.
func ParseSignal(name string) (os.Signal, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "SIG")
	if s, ok := namedSignals[n]; ok {
		return s, nil
	}
	return nil, fail.New(fail.Usage, "unknown signal %q", name).
		WithHint("use one of: %s", strings.Join(SignalNames(), ", "))
}

// SignalNames lists the names ParseSignal accepts, sorted.
func SignalNames() []string {
	return slices.Sorted(maps.Keys(namedSignals))
}

// SignalName is the name of s as ParseSignal reads it ("TERM"), or s's own
// description for any other signal.
func SignalName(s os.Signal) string {
	for n, v := range namedSignals {
		if os.Signal(v) == s {
			return n
		}
	}
	return s.String()
}
