package tests

import (
	"os/exec"
	"testing"
)

// BenchmarkOverhead runs `true` directly and through azexec side by side,
// with a service principal and its subscription configured, so azexec
// fetches nothing but the one token that proves the identity (from the
// fake Azure on loopback, TLS included). The difference of the two ns/op
// figures is what azexec adds in front of COMMAND.
//
//	tests/offline.sh go test -run XXX -bench Overhead ./tests/
func BenchmarkOverhead(b *testing.B) {
	f := startFake(b)
	p := f.newSP()
	env := f.env(append(p.env(), "AZURE_SUBSCRIPTION_ID="+newUUID())...)
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, name string, args ...string) {
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(name, args...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, truePath) })
	b.Run("azexec", func(b *testing.B) { run(b, azexecBin, "--", "true") })
	b.Run("azexec-supervise", func(b *testing.B) { run(b, azexecBin, "--supervise", "--", "true") })
	// With the token cache in a keyring, the proof token of the previous
	// run is reused: nothing at all is fetched. The encrypted file pays a
	// key derivation per read; the kernel keyring does not.
	base := env
	for _, backend := range []string{"file", "keyctl"} {
		env = append(base[:len(base):len(base)], "AZEXEC_KEYRING_BACKEND="+backend, "AZEXEC_KEYRING_PASSWORD=bench-"+randomHex(8))
		run(b, azexecBin, "--", "true") // fill the cache
		b.Run("azexec-cached-"+backend, func(b *testing.B) {
			f.Reset()
			run(b, azexecBin, "--", "true")
			b.ReportMetric(float64(len(f.Requests()))/float64(b.N), "requests/op")
		})
	}
}
