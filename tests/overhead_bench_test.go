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
}
