package endpoint

import (
	"testing"

	"github.com/azexec/azexec/internal/fail"
)

// TestListenAddress: loopback by default; a bridge address with or
// without a port; wildcards, names and conflicting ports refused as usage
// errors.
func TestListenAddress(t *testing.T) {
	ok := []struct {
		listen string
		port   int
		want   string
	}{
		{"", 0, "127.0.0.1:0"},
		{"127.0.0.1", 8765, "127.0.0.1:8765"},
		{"172.17.0.1", 0, "172.17.0.1:0"},
		{"172.17.0.1:8765", 0, "172.17.0.1:8765"},
		{"172.17.0.1:8765", 8765, "172.17.0.1:8765"},
		{"::1", 0, "[::1]:0"},
		{"[::1]:80", 0, "[::1]:80"},
		{"[fd00::1]", 9, "[fd00::1]:9"},
		{"::ffff:127.0.0.1", 0, "127.0.0.1:0"},
	}
	for _, tc := range ok {
		got, err := ListenAddress(tc.listen, tc.port)
		if err != nil || got.String() != tc.want {
			t.Errorf("%q, %d: %v %v, want %s", tc.listen, tc.port, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		listen string
		port   int
	}{
		{"0.0.0.0", 0}, {"0.0.0.0:8080", 0}, {"::", 0}, {"[::]:8080", 0}, {":8080", 0}, {"::ffff:0.0.0.0", 0},
		{"localhost", 0}, {"host.docker.internal", 0}, {"127.0.0.1:x", 0}, {"127.0.0.1:80", 81},
		{"127.0.0.1", -1}, {"127.0.0.1", 65536}, {"fe80::1%eth0", 0}, {"127.0.0.1:99999", 0},
	} {
		if _, err := ListenAddress(bad.listen, bad.port); fail.KindOf(err) != fail.Usage || fail.HintOf(err) == "" {
			t.Errorf("%q, %d: %v, want a usage error with a hint", bad.listen, bad.port, err)
		}
	}
}

// FuzzListenAddress: no --listen value panics, and none accepted is a
// wildcard address.
func FuzzListenAddress(f *testing.F) {
	f.Add("0.0.0.0:80", 0)
	f.Add("[::]", 1)
	f.Add("172.17.0.1", 8765)
	f.Fuzz(func(t *testing.T, listen string, port int) {
		a, err := ListenAddress(listen, port)
		if err == nil && (a.Addr().IsUnspecified() || !a.Addr().IsValid()) {
			t.Fatalf("accepted %q as %v", listen, a)
		}
	})
}
