package tests

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
)

// The herd: many processes at once against one vault, as a deployment of
// many pods reading one vault does. The vault is limited to herdRate
// requests a second (fakeazure.LimitVault: 429 with Retry-After beyond
// it); every process must get every value, and no COMMAND may start with
// one missing. The time is logged, not asserted: tests/bench's
// BenchmarkHerd compares it with the throttle bound, herdProcs *
// herdRefs / herdRate seconds.
const (
	herdProcs = 20
	herdRefs  = 50
	herdRate  = 100
)

// herdChild checks, before anything else, that each of the n REF_xx
// variables holds a value and not a reference, then writes its whole
// environment to file for the test to compare byte for byte.
func herdChild(n int, file string) []string {
	return []string{"sh", "-c", fmt.Sprintf(`for i in $(seq -w 0 %d); do
  eval "v=\${REF_$i-}"
  case "$v" in ""|keyvault://*) echo "REF_$i is missing" >&2; exit 97;; esac
done
env -0 > '%s'`, n-1, file)}
}

func TestHerd(t *testing.T) {
	// Not parallel: twenty processes at once are load enough for two CPUs.
	f := startFake(t)
	p := f.homeSP()
	host := f.vaultHost(t, "kv-herd")
	if err := f.LimitVault("kv-herd", herdRate); err != nil {
		t.Fatal(err)
	}
	type proc struct {
		file, out string
		want      map[string]string
		stderr    bytes.Buffer
		err       error
	}
	procs := make([]*proc, herdProcs)
	for i := range procs {
		pr := &proc{want: map[string]string{}, out: filepath.Join(t.TempDir(), "env")}
		var file strings.Builder
		for j := range herdRefs {
			name := fmt.Sprintf("p%02d-s%02d", i, j)
			value := fmt.Sprintf("value-%s-%s", name, randomHex(6))
			f.setSecret(t, "kv-herd", name, "", value)
			fmt.Fprintf(&file, "REF_%02d=keyvault://%s/%s\n", j, host, name)
			pr.want[fmt.Sprintf("REF_%02d", j)] = value
		}
		pr.file = f.writeFile(t, fmt.Sprintf("herd-%02d.env", i), file.String())
		procs[i] = pr
	}
	// A generous --timeout: under -race, twenty processes and the fake
	// share two CPUs; the time itself is the benchmark's business.
	env := kvEnv(f, p, consent(host), "AZEXEC_TIMEOUT=180s")
	ctx, cancel := context.WithTimeout(context.Background(), 2*runTimeout)
	defer cancel()
	f.Reset()
	start := time.Now()
	var wg sync.WaitGroup
	for _, pr := range procs {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, azexecBin, append([]string{"--env-file", pr.file}, wrap(nil, herdChild(herdRefs, pr.out)...)...)...)
			cmd.Env = env
			cmd.Stderr = &pr.stderr
			pr.err = cmd.Run()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, pr := range procs {
		if pr.err != nil {
			t.Errorf("process %d: %v\n%s", i, pr.err, clip(pr.stderr.String()))
			continue
		}
		wantVars(t, fmt.Sprintf("process %d's child", i), readDump(t, pr.out), pr.want)
	}
	var ok, throttled, challenges int
	for _, r := range f.Requests() {
		switch {
		case r.Kind != fakeazure.KindKV:
		case r.Throttled:
			throttled++
		case r.Status == 401:
			challenges++
		case r.Status == 200:
			ok++
		}
	}
	if ok != herdProcs*herdRefs {
		t.Errorf("%d secrets read, want %d", ok, herdProcs*herdRefs)
	}
	bound := time.Duration(herdProcs*herdRefs/herdRate) * time.Second
	t.Logf("%d processes × %d references, vault limited to %d requests/s: %s (throttle bound %s, %.2f×); "+
		"%d secrets read, %d challenges, %d throttled answers",
		herdProcs, herdRefs, herdRate, elapsed.Round(time.Millisecond), bound, elapsed.Seconds()/bound.Seconds(), ok, challenges, throttled)
}
