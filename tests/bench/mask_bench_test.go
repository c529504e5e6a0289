package bench

// The masking benchmark: 1 GiB of log-like text from COMMAND through a
// masking azexec holding 200 Key Vault values of 16 to 64 bytes, against
// the same run with --supervise and no masking, where COMMAND writes to
// the pipe directly. Offline, like everything here:
//
//	tests/offline.sh go test -run '^$' -bench 'Stream' -benchtime 1x -count 3 ./tests/bench/

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

const (
	maskValues = 200
	chunkFile  = 16 << 20 // the file COMMAND writes again and again
)

// setupMask starts a fake vault holding maskValues random values of 16 to
// 64 bytes, an env file referencing them, and a 16 MiB text file that
// holds each value a few times among log lines.
func setupMask(b *testing.B) (env []string, text string) {
	b.Helper()
	dir := b.TempDir()
	s, err := fakeazure.Start(fakeazure.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	const client, secret = "bench-client", "bench-secret-value"
	s.AddServicePrincipal(s.Tenant(), client, secret)
	u, err := s.AddVault("bench-mask")
	if err != nil {
		b.Fatal(err)
	}
	host := strings.TrimPrefix(u, "https://")
	r := rand.New(rand.NewPCG(1, 2))
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/="
	var refs bytes.Buffer
	var values []string
	for i := range maskValues {
		v := make([]byte, 16+r.IntN(49))
		for j := range v {
			v[j] = chars[r.IntN(len(chars))]
		}
		values = append(values, string(v))
		name := fmt.Sprintf("value-%03d", i)
		if err := s.SetSecret("bench-mask", name, "", string(v)); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&refs, "V_%03d=keyvault://%s/%s\n", i, host, name)
	}
	envFile := filepath.Join(dir, "refs.env")
	if err := os.WriteFile(envFile, refs.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	text = filepath.Join(dir, "log.txt")
	if err := os.WriteFile(text, logText(r, values), 0o600); err != nil {
		b.Fatal(err)
	}
	return []string{
		"PATH=" + testenv.Tools(b), "HOME=" + dir, "SSL_CERT_FILE=" + s.CAFile, "AZURE_AUTHORITY_HOST=" + s.URL + "/",
		"AZURE_TENANT_ID=" + s.Tenant(), "AZURE_CLIENT_ID=" + client, "AZURE_CLIENT_SECRET=" + secret,
		"AZURE_SUBSCRIPTION_ID=00000000-0000-4000-8000-000000000000",
		"AZEXEC_ENV_FILE=" + envFile, "AZEXEC_KEYVAULT_EMULATOR=" + host,
	}, text
}

// logText is chunkFile bytes of log lines (words, numbers, base64 request
// ids), with one of values in about every 2,000th line.
func logText(r *rand.Rand, values []string) []byte {
	words := []string{"INFO", "WARN", "request", "completed", "in", "ms", "GET", "POST", "/api/v1/items", "status=200", "user", "retry", "cache", "hit"}
	var b bytes.Buffer
	id := make([]byte, 12)
	for line := 0; b.Len() < chunkFile; line++ {
		fmt.Fprintf(&b, "2026-11-30T12:00:%02d.%03dZ ", line%60, line%1000)
		for range 4 + r.IntN(8) {
			b.WriteString(words[r.IntN(len(words))])
			b.WriteByte(' ')
		}
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		fmt.Fprintf(&b, "id=%x trace=%s", id[:6], bytesBase64(id))
		if line%2000 == 0 {
			b.WriteString(" secret=" + values[r.IntN(len(values))])
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:chunkFile]
}

func bytesBase64(p []byte) string {
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var s strings.Builder
	for i := 0; i+2 < len(p); i += 3 {
		n := uint(p[i])<<16 | uint(p[i+1])<<8 | uint(p[i+2])
		s.WriteByte(std[n>>18&63])
		s.WriteByte(std[n>>12&63])
		s.WriteByte(std[n>>6&63])
		s.WriteByte(std[n&63])
	}
	return s.String()
}

// stream runs azexec ARGS -- COMMAND, COMMAND writing mib MiB (the text
// file again and again) to its stdout, read by the benchmark. It reports
// the throughput from the first byte read to the end (azexec's start and
// the 200 fetches are not what this measures), azexec's peak RSS and the
// CPU time of the run.
func stream(b *testing.B, mib int, args ...string) {
	env, text := setupMask(b)
	if args[0] == "--mask-one" {
		// Only the service principal's secret: what the pipes cost.
		args[0] = "--mask"
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, "AZEXEC_ENV_FILE=") })
	}
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do cat %s; i=$((i+1)); done`, mib/(chunkFile>>20), text)
	var total time.Duration
	var rss int64
	var cpu time.Duration
	for range b.N {
		cmd := exec.Command(azexecBin, append(args, "--", "sh", "-c", script)...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stop := sampleRSS(cmd.Process.Pid, &rss)
		first := make([]byte, 1)
		if _, err := io.ReadFull(out, first); err != nil {
			b.Fatalf("no output: %v\n%s", err, stderr.String())
		}
		start := time.Now()
		n, err := io.CopyBuffer(io.Discard, out, make([]byte, 256<<10))
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		stop()
		if err := cmd.Wait(); err != nil {
			b.Fatalf("azexec: %v\n%s", err, stderr.String())
		}
		if want := int64(mib) << 20; n+1 > want+want/10 || n+1 < want-want/10 {
			b.Fatalf("read %d bytes, want about %d", n+1, want)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	sec := total.Seconds() / float64(b.N)
	b.ReportMetric(float64(mib)/sec, "MiB/s")
	b.ReportMetric(sec, "s/stream")
	b.ReportMetric(float64(rss)/1024, "MB-rss-max")
	// CPU seconds of azexec and COMMAND together (the shell and its cats):
	// on a loaded machine a steadier measure of what masking costs than
	// the wall time.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkStreamMasked1GiB: 1 GiB through azexec --mask.
func BenchmarkStreamMasked1GiB(b *testing.B) { stream(b, 1024, "--mask") }

// BenchmarkStreamMasked128MiB: the same with an eighth of the output, to
// show that memory does not grow with it.
func BenchmarkStreamMasked128MiB(b *testing.B) { stream(b, 128, "--mask") }

// BenchmarkStreamMaskedOneValue1GiB: masked, but with one value (the
// service principal's secret) instead of 200: the cost of the second pipe
// alone, for comparison.
func BenchmarkStreamMaskedOneValue1GiB(b *testing.B) { stream(b, 1024, "--mask-one") }

// BenchmarkStreamSupervised1GiB: the peer, --supervise without masking:
// COMMAND writes to the reader's pipe itself.
func BenchmarkStreamSupervised1GiB(b *testing.B) { stream(b, 1024, "--supervise") }

// sampleRSS records azexec's largest resident set (KiB) into peak, read
// from /proc every 20 ms until stop. (ru_maxrss is no use here: Linux
// carries the parent's peak across the fork and execve that start azexec.)
func sampleRSS(pid int, peak *int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
						var kib int64
						fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib)
						*peak = max(*peak, kib)
					}
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
