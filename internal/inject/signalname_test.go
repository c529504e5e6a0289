package inject

import (
	"strings"
	"testing"
)

func TestParseSignal(t *testing.T) {
	for _, name := range []string{"TERM", "SIGTERM", "sigterm", " term "} {
		s, err := ParseSignal(name)
		if err != nil || SignalName(s) != "TERM" {
			t.Errorf("ParseSignal(%q) = %v, %v", name, s, err)
		}
	}
	for _, bad := range []string{"", "15", "SIG", "TERMX", "SIGSIGTERM"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q) accepted", bad)
		}
	}
}

// FuzzParseSignal: any text either names a known signal, whose name reads
// back to the same signal, or is refused with an error that quotes it.
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"TERM", "sighup", "USR1", "", "9", "SIGKILL\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		s, err := ParseSignal(name)
		if err != nil {
			if !strings.Contains(err.Error(), "unknown signal") {
				t.Fatalf("error %q", err)
			}
			return
		}
		again, err := ParseSignal(SignalName(s))
		if err != nil || again != s {
			t.Fatalf("%q: %v does not read back (%v, %v)", name, s, again, err)
		}
	})
}
