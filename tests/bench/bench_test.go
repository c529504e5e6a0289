// Package bench measures what Key Vault references cost end to end: the
// built azexec resolving 200 references across 2 vaults of the fake Azure,
// every request delayed by 50 ms, from process start until the child (true)
// has run. It reports, per run, the wall time, the token requests, the
// peak number of vault requests in flight and azexec's peak RSS. The goal
// (README, "Performance") is within 1.5x of one token request, one
// challenge round trip and ceil(200/16) rounds of 50 ms, one token request
// per tenant and scope, and under 40 MB.
//
// Offline only, like every test here (the figures in the README come from
// these two commands):
//
//	tests/offline.sh go test -run '^$' -bench 'References200$' -benchtime 10x -count 3 ./tests/bench/
//	tests/offline.sh go test -run '^$' -bench 'References200Serial' -benchtime 1x ./tests/bench/
package bench

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

const (
	references = 200
	latency    = 50 * time.Millisecond
)

// azexecBin is the binary under test, built once (without -race: this
// measures the real thing).
var azexecBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run()) // go test ./... without -bench: nothing to build
	}
	if err := testenv.RequireOffline(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: run offline, inside tests/offline.sh:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "azexec-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	azexecBin = filepath.Join(dir, "azexec")
	if err := testenv.BuildAzexec("../..", azexecBin, false); err != nil {
		fmt.Fprintln(os.Stderr, "bench: building azexec:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup starts a fake with two vaults holding the secrets, and writes an
// env file referencing them. It returns the fake and azexec's environment.
func setup(b *testing.B) (*fakeazure.Server, []string) {
	b.Helper()
	dir := b.TempDir()
	s, err := fakeazure.Start(fakeazure.Options{Dir: dir, Latency: latency})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	const client, secret = "bench-client", "bench-secret-value"
	s.AddServicePrincipal(s.Tenant(), client, secret)
	var file bytes.Buffer
	var emulators []string // the fake's vaults are on loopback: emulators, by consent
	for v := range 2 {
		vault := fmt.Sprintf("bench-%d", v)
		u, err := s.AddVault(vault)
		if err != nil {
			b.Fatal(err)
		}
		emulators = append(emulators, strings.TrimPrefix(u, "https://"))
		for i := v; i < references; i += 2 {
			name := fmt.Sprintf("secret-%03d", i)
			if err := s.SetSecret(vault, name, "", "value-"+name); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&file, "REF_%03d=keyvault://%s/%s\n", i, strings.TrimPrefix(u, "https://"), name)
		}
	}
	envFile := filepath.Join(dir, "refs.env")
	if err := os.WriteFile(envFile, file.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return s, []string{
		"PATH=" + testenv.Tools(b), "HOME=" + dir, "SSL_CERT_FILE=" + s.CAFile, "AZURE_AUTHORITY_HOST=" + s.URL + "/",
		"AZURE_TENANT_ID=" + s.Tenant(), "AZURE_CLIENT_ID=" + client, "AZURE_CLIENT_SECRET=" + secret,
		// A subscription given skips the subscription lookup at Resource
		// Manager, which is not what this measures.
		"AZURE_SUBSCRIPTION_ID=00000000-0000-4000-8000-000000000000",
		"AZEXEC_ENV_FILE=" + envFile,
		"AZEXEC_KEYVAULT_EMULATOR=" + strings.Join(emulators, ","),
	}
}

// measure runs azexec ARGS -- true b.N times and reports the figures of
// the issue: wall time per run (ns/op), token requests, peak vault
// requests in flight, and peak RSS.
func measure(b *testing.B, args ...string) {
	s, env := setup(b)
	var tokens, peak, rss, worstRSS int64
	b.ResetTimer()
	for range b.N {
		s.Reset()
		cmd := exec.Command(azexecBin, append(args, "--", "true")...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("azexec: %v\n%s", err, stderr.String())
		}
		b.StopTimer()
		tokens += int64(s.CountRequests(fakeazure.KindToken))
		peak = max(peak, int64(s.PeakConcurrency(fakeazure.KindKV)))
		// ru_maxrss (KiB) survives execve on Linux: it is azexec's peak,
		// the child (true) being far smaller.
		r := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
		rss += r
		worstRSS = max(worstRSS, r)
		b.StartTimer()
	}
	b.ReportMetric(float64(tokens)/float64(b.N), "tokens/op")
	b.ReportMetric(float64(peak), "peak-inflight")
	b.ReportMetric(float64(rss)/float64(b.N)/1024, "MB-rss/op")
	b.ReportMetric(float64(worstRSS)/1024, "MB-rss-max")
}

// BenchmarkReferences200 is the configuration of the goal, at default
// settings (adaptive_bench_test.go compares it with another binary).
func BenchmarkReferences200(b *testing.B) { measure(b) }

// BenchmarkReferences200Serial is the baseline the goal compares with:
// one secret after another (--concurrency 1). About 10 s a run: use
// -benchtime 1x.
func BenchmarkReferences200Serial(b *testing.B) { measure(b, "--concurrency", "1") }
