package bench

// Adaptive concurrency (internal/providers/aimd.go), measured against the
// binary it replaces, in the same run: set AZEXEC_BENCH_BASELINE to that
// binary (tests/bench/run.sh builds main's) and each benchmark below runs
// it too, run for run alternately with this tree's, and reports its
// figures with the suffix "-baseline" next to "-azexec".
//
//	BenchmarkDefaults200       200 references over 2 vaults, every request
//	                           50 ms, default settings: median wall time,
//	                           token requests per (tenant, scope).
//	BenchmarkLimited200        the same, each vault limited to 60 requests
//	                           a second (429 with Retry-After beyond it);
//	                           every value is checked.
//	BenchmarkHerd              20 processes at once, 50 references each, to
//	                           one vault limited to 100 requests a second:
//	                           the time for all, against the throttle bound
//	                           (1,000 requests / 100 per second = 10 s).

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

// binaries returns the binaries to measure: this tree's, and the
// baseline's when AZEXEC_BENCH_BASELINE names one.
func binaries() [][2]string {
	out := [][2]string{{"azexec", azexecBin}}
	if base := os.Getenv("AZEXEC_BENCH_BASELINE"); base != "" {
		out = append(out, [2]string{"baseline", base})
	}
	return out
}

// runRefs runs each binary with env -- a child that dumps its
// environment, b.N times, alternating between the binaries so that a
// machine whose load changes treats them alike; it checks every REF_ value
// (expected "value-" + its secret's name) after each run, and reports per
// binary the median wall time, azexec's CPU time, the most token requests
// for one (tenant, scope), throttled answers and connections.
func runRefs(b *testing.B, s *fakeazure.Server, env []string, bins [][2]string) {
	out := filepath.Join(b.TempDir(), "env")
	type stats struct {
		times                       []time.Duration
		cpu                         time.Duration
		worstPair, throttled, conns int
		resumed                     int
	}
	all := make([]stats, len(bins))
	b.ResetTimer()
	for range b.N {
		for i, bin := range bins {
			st := &all[i]
			b.StopTimer()
			s.Reset()
			_ = os.Remove(out)
			b.StartTimer()
			cmd := exec.Command(bin[1], "--", "sh", "-c", "env -0 > '"+out+"'")
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			d := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatalf("%s: %v\n%s", bin[0], err, stderr.String())
			}
			st.times = append(st.times, d)
			if os.Getenv("AZEXEC_BENCH_TIMELINE") != "" {
				fmt.Println("==", bin[0], d)
				timeline(s, start)
			}
			st.cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			checkValues(b, out)
			st.worstPair = max(st.worstPair, maxPerPair(s))
			st.conns += s.Connections()
			st.resumed += s.Resumed()

			for _, r := range s.Requests() {
				if r.Throttled {
					st.throttled++
				}
			}
			b.StartTimer()
		}
	}
	for i, bin := range bins {
		st, n := all[i], float64(b.N)
		b.ReportMetric(float64(median(st.times).Microseconds())/1000, "ms-median-"+bin[0])
		// CPU time of azexec and its child: what a loaded machine magnifies.
		b.ReportMetric(float64(st.cpu.Microseconds())/1000/n, "ms-cpu/op-"+bin[0])
		b.ReportMetric(float64(st.worstPair), "max-tokens/pair-"+bin[0])
		b.ReportMetric(float64(st.throttled)/n, "429s/op-"+bin[0])
		b.ReportMetric(float64(st.conns)/n, "conns/op-"+bin[0])
		b.ReportMetric(float64(st.resumed)/n, "resumed/op-"+bin[0])
	}
}

// checkValues fails unless the dumped environment holds all the
// references, each with its secret's value.
func checkValues(b *testing.B, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatalf("the child did not run: %v", err)
	}
	got := 0
	for _, e := range strings.Split(string(data), "\x00") {
		k, v, _ := strings.Cut(e, "=")
		if !strings.HasPrefix(k, "REF_") {
			continue
		}
		if want := "value-secret-" + strings.TrimPrefix(k, "REF_"); v != want {
			b.Fatalf("%s = %q, want %q", k, v, want)
		}
		got++
	}
	if got != references {
		b.Fatalf("%d references resolved, want %d", got, references)
	}
}

// maxPerPair is the most token requests the fake saw for one tenant and
// scope.
func maxPerPair(s *fakeazure.Server) int {
	n := map[string]int{}
	worst := 0
	for _, r := range s.Requests() {
		if r.Kind == fakeazure.KindToken {
			scope, _, _ := strings.Cut(r.Scope, " ")
			tenant, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
			n[tenant+" "+scope]++
			worst = max(worst, n[tenant+" "+scope])
		}
	}
	return worst
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkDefaults200: 200 references over 2 vaults at 50 ms a request,
// default settings.
func BenchmarkDefaults200(b *testing.B) {
	s, env := setup(b)
	runRefs(b, s, env, binaries())
}

// BenchmarkLimited200: the same, each vault limited to 60 requests a
// second.
func BenchmarkLimited200(b *testing.B) {
	s, env := setup(b)
	for v := range 2 {
		if err := s.LimitVault(fmt.Sprintf("bench-%d", v), 60); err != nil {
			b.Fatal(err)
		}
	}
	runRefs(b, s, env, binaries())
}

// Herd parameters: herdProcs processes, herdRefs references each, one
// vault limited to herdRate requests a second, every request herdLatency.
const (
	herdProcs   = 20
	herdRefs    = 50
	herdRate    = 100
	herdLatency = 50 * time.Millisecond
)

// BenchmarkHerd: twenty processes at once against one throttled vault.
// Each child checks its 50 values; the time is from the first start to
// the last exit.
func BenchmarkHerd(b *testing.B) { herd(b, binaries()) }

func herd(b *testing.B, bins [][2]string) {
	dir := b.TempDir()
	s, err := fakeazure.Start(fakeazure.Options{Dir: dir, Latency: herdLatency})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	const client, secret = "bench-client", "bench-secret-value"
	s.AddServicePrincipal(s.Tenant(), client, secret)
	u, err := s.AddVault("herd")
	if err != nil {
		b.Fatal(err)
	}
	host := strings.TrimPrefix(u, "https://")
	if err := s.LimitVault("herd", herdRate); err != nil {
		b.Fatal(err)
	}
	files := make([]string, herdProcs)
	for p := range herdProcs {
		var f strings.Builder
		for i := range herdRefs {
			name := fmt.Sprintf("p%02d-s%02d", p, i)
			if err := s.SetSecret("herd", name, "", "value-"+name); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&f, "REF_%02d=keyvault://%s/%s\n", i, host, name)
		}
		files[p] = filepath.Join(dir, fmt.Sprintf("herd-%02d.env", p))
		if err := os.WriteFile(files[p], []byte(f.String()), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	env := []string{
		"PATH=" + testenv.Tools(b), "HOME=" + dir, "SSL_CERT_FILE=" + s.CAFile, "AZURE_AUTHORITY_HOST=" + s.URL + "/",
		"AZURE_TENANT_ID=" + s.Tenant(), "AZURE_CLIENT_ID=" + client, "AZURE_CLIENT_SECRET=" + secret,
		"AZURE_SUBSCRIPTION_ID=00000000-0000-4000-8000-000000000000",
		"AZEXEC_KEYVAULT_EMULATOR=" + host, "AZEXEC_TIMEOUT=120s",
	}
	// The child fails unless every value is there and resolved.
	check := fmt.Sprintf(`for i in $(seq -w 0 %d); do eval "v=\${REF_$i-}"; case "$v" in value-p*) ;; *) echo "REF_$i missing" >&2; exit 97;; esac; done`, herdRefs-1)
	type stats struct{ times, firsts, phases []time.Duration }
	all := make([]stats, len(bins))
	b.ResetTimer()
	for range b.N {
		for i, bin := range bins {
			st := &all[i]
			b.StopTimer()
			s.Reset()
			b.StartTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, herdProcs)
			stderrs := make([]bytes.Buffer, herdProcs)
			for p := range herdProcs {
				wg.Go(func() {
					cmd := exec.Command(bin[1], "--env-file", files[p], "--", "sh", "-c", check)
					cmd.Env = env
					cmd.Stderr = &stderrs[p]
					errs[p] = cmd.Run()
				})
			}
			wg.Wait()
			d := time.Since(start)
			b.StopTimer()
			for p, err := range errs {
				if err != nil {
					b.Fatalf("%s, process %d: %v\n%s", bin[0], p, err, stderrs[p].String())
				}
			}
			st.times = append(st.times, d)
			first, phase := vaultPhase(s, start)
			st.firsts, st.phases = append(st.firsts, first), append(st.phases, phase)
			if os.Getenv("AZEXEC_BENCH_TIMELINE") != "" {
				fmt.Println("==", bin[0], d)
				timeline(s, start)
			}
			b.StartTimer()
		}
	}
	bound := float64(herdProcs*herdRefs) / herdRate
	for i, bin := range bins {
		st := all[i]
		m := median(st.times).Seconds()
		b.ReportMetric(m, "s-median-"+bin[0])
		b.ReportMetric(m/bound, "x-bound-"+bin[0])
		// Where the time went: start-up and sign-in of twenty processes at
		// once (until the first vault request), then the vault's part.
		b.ReportMetric(median(st.firsts).Seconds(), "s-to-first-kv-"+bin[0])
		b.ReportMetric(median(st.phases).Seconds(), "s-kv-phase-"+bin[0])
	}
}

// vaultPhase returns when the first request reached a vault, and how long
// from then until the last vault answer.
func vaultPhase(s *fakeazure.Server, start time.Time) (first, phase time.Duration) {
	var lo, hi time.Time
	for _, r := range s.Requests() {
		if r.Kind != fakeazure.KindKV {
			continue
		}
		if lo.IsZero() || r.Time.Before(lo) {
			lo = r.Time
		}
		if r.Time.After(hi) {
			hi = r.Time
		}
	}
	return lo.Sub(start), hi.Sub(lo) + herdLatency
}

// timeline prints, per half second, the vault's answers by status.
func timeline(s *fakeazure.Server, start time.Time) {
	type row struct{ ok, throttled, other int }
	rows := map[int]*row{}
	last := 0
	for _, r := range s.Requests() {
		if r.Kind != fakeazure.KindKV {
			continue
		}
		i := int(r.Time.Sub(start) / (100 * time.Millisecond))
		last = max(last, i)
		if rows[i] == nil {
			rows[i] = &row{}
		}
		switch {
		case r.Throttled:
			rows[i].throttled++
		case r.Status == 200:
			rows[i].ok++
		default:
			rows[i].other++
		}
	}
	for i := 0; i <= last; i++ {
		if r := rows[i]; r != nil {
			fmt.Printf("%5.1fs ok %4d throttled %4d other %4d\n", float64(i)/10, r.ok, r.throttled, r.other)
		}
	}
}
