package bench

import (
	"encoding/json"
	"fmt"
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

// What a warm run costs (issue 12): `azexec -- true` with the az login and
// with a service principal in the environment, both with their token in
// the kernel keyring, against `true` alone and against the peer, Azure
// CLI itself (`az account show`, a floor under get-access-token: see
// realAz), in the same run; and `azexec --identity cli` with one
// Key Vault reference, cold (az runs once) and warm (az does not run).
// Each reports the median wall time of a run (ms-median) besides the
// mean (ns/op). tests/bench/run.sh runs them.
//
// The peer needs the real az: /usr/bin/az (Debian's azure-cli) or
// AZEXEC_BENCH_AZ; without it that benchmark is skipped.

// warmEnv is a fake Azure (no added latency) with a service principal, a
// vault holding one secret, a fake az logged in to the fake's tenant, and
// the environments that use them.
type warmEnv struct {
	s          *fakeazure.Server
	dir        string
	base       []string // PATH, HOME, trust, authority
	sp         []string // + the service principal
	cli        []string // + AZURE_CONFIG_DIR of the fake az
	azCalls    string   // one line per run of the fake az
	azProfile  []byte   // its azureProfile.json
	vaultRef   []string // the one reference and the consent for its vault
	vaultValue string
}

func newWarmEnv(b *testing.B) *warmEnv {
	b.Helper()
	dir := b.TempDir()
	s, err := fakeazure.Start(fakeazure.Options{Dir: filepath.Join(dir, "fake")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	w := &warmEnv{s: s, dir: dir, azCalls: filepath.Join(dir, "az.calls")}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, filepath.Join(dir, "home"), filepath.Join(dir, "azure")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	w.base = []string{"PATH=" + bin + ":" + testenv.Tools(b), "HOME=" + filepath.Join(dir, "home"),
		"SSL_CERT_FILE=" + s.CAFile, "AZURE_AUTHORITY_HOST=" + s.URL + "/"}

	// A service principal with a client id of this run: its cache entry is
	// this run's own.
	client, secret := "bench-"+fmt.Sprint(time.Now().UnixNano()), "bench-secret-value"
	s.AddServicePrincipal(s.Tenant(), client, secret)
	w.sp = append(slices.Clone(w.base), "AZURE_TENANT_ID="+s.Tenant(), "AZURE_CLIENT_ID="+client,
		"AZURE_CLIENT_SECRET="+secret, "AZURE_SUBSCRIPTION_ID=00000000-0000-4000-8000-000000000000")

	// The fake az: the az login of a user, answering Resource Manager and
	// Key Vault tokens as az 2.45 prints them.
	w.azProfile, _ = json.Marshal(map[string]any{"subscriptions": []map[string]any{{
		"id": "00000000-0000-4000-8000-000000000000", "isDefault": true, "tenantId": s.Tenant(), "homeTenantId": s.Tenant(),
		"environmentName": "AzureCloud", "user": map[string]string{"name": client + "@bench.example", "type": "user"},
	}}})
	var cases strings.Builder
	for _, r := range []string{"https://management.azure.com/", fakeazure.VaultAudience} {
		tok := s.MintToken(s.Tenant(), client, r, time.Hour)
		out, _ := json.Marshal(map[string]any{"accessToken": tok, "expiresOn": time.Now().Add(time.Hour).Format("2006-01-02 15:04:05.000000"),
			"tenant": s.Tenant(), "tokenType": "Bearer"})
		fmt.Fprintf(&cases, "\"account get-access-token -o json --resource %s\"*) echo '%s' ;;\n", strings.TrimSuffix(r, "/"), out)
	}
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> '%s'\ncase \"$*\" in\n%s*) exit 2 ;;\nesac\n", w.azCalls, cases.String())
	if err := os.WriteFile(filepath.Join(bin, "az"), []byte(script), 0o755); err != nil {
		b.Fatal(err)
	}
	w.cli = append(slices.Clone(w.base), "AZURE_CONFIG_DIR="+w.azureDir(b, "azure"))

	u, err := s.AddVault("bench-warm")
	if err != nil {
		b.Fatal(err)
	}
	host := strings.TrimPrefix(u, "https://")
	w.vaultValue = "value-" + client
	if err := s.SetSecret("bench-warm", "db", "", w.vaultValue); err != nil {
		b.Fatal(err)
	}
	w.vaultRef = []string{"DB=keyvault://" + host + "/db", "AZEXEC_KEYVAULT_EMULATOR=" + host}
	return w
}

// azureDir writes the fake az's azureProfile.json into a new directory
// name under the run's directory and returns it. A new directory is a new
// az login for the cache (its key holds the directory): a cold run.
func (w *warmEnv) azureDir(b *testing.B, name string) string {
	d := filepath.Join(w.dir, name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "azureProfile.json"), w.azProfile, 0o600); err != nil {
		b.Fatal(err)
	}
	return d
}

func (w *warmEnv) azRuns() int {
	data, _ := os.ReadFile(w.azCalls)
	return strings.Count(string(data), "\n")
}

// timeRuns runs the command b.N times (after warm-up runs) and reports
// the median wall time (ms-median) and the median CPU time, user and
// system, of the process and its children (ms-cpu-median), besides ns/op.
// On a machine shared with other work the wall time is mostly the wait
// for a CPU; the CPU time is what the run itself costs. env is given per
// run, for cold runs.
func timeRuns(b *testing.B, warmups int, env func(i int) []string, argv ...string) {
	b.Helper()
	run := func(i int) (time.Duration, time.Duration) {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env(i)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			b.Fatalf("%q: %v\n%s", argv, err, out)
		}
		return d, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	for i := range warmups {
		run(-1 - i)
	}
	wall := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		w, c := run(i)
		wall, cpu = append(wall, w), append(cpu, c)
	}
	b.StopTimer()
	ms := func(d []time.Duration, q int) float64 {
		slices.Sort(d)
		return float64(d[len(d)*q/100]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(wall, 50), "ms-median")
	b.ReportMetric(ms(wall, 90), "ms-p90")
	b.ReportMetric(ms(cpu, 50), "ms-cpu-median")
}

func fixed(env []string) func(int) []string { return func(int) []string { return env } }

// BenchmarkWarm is `true`, warm `azexec -- true` (service principal, az
// login) and the peer, az (see realAz), in one run.
func BenchmarkWarm(b *testing.B) {
	w := newWarmEnv(b)
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("true", func(b *testing.B) { timeRuns(b, 1, fixed(w.base), truePath) })
	b.Run("azexec-env-sp", func(b *testing.B) {
		timeRuns(b, 1, fixed(w.sp), azexecBin, "--", "true") // fills the cache
		w.s.Reset()
		timeRuns(b, 0, fixed(w.sp), azexecBin, "--", "true")
		b.ReportMetric(float64(len(w.s.Requests()))/float64(b.N), "requests/op")
	})
	b.Run("azexec-cli", func(b *testing.B) {
		timeRuns(b, 1, fixed(w.cli), azexecBin, "--identity", "cli", "--", "true") // fills the cache
		before := w.azRuns()
		timeRuns(b, 0, fixed(w.cli), azexecBin, "--identity", "cli", "--", "true")
		b.ReportMetric(float64(w.azRuns()-before)/float64(b.N), "az-runs/op")
	})
	b.Run("az-account-show", func(b *testing.B) {
		az, env := realAz(b, w)
		timeRuns(b, 1, fixed(env), az, "account", "show", "-o", "json")
	})
}

// BenchmarkCLIReference is `azexec --identity cli` with one Key Vault
// reference: cold (a new az login each run: az runs once, for the vault
// token, which also proves the identity) and warm (az does not run).
func BenchmarkCLIReference(b *testing.B) {
	w := newWarmEnv(b)
	child := []string{"sh", "-c", "test \"$DB\" = '" + w.vaultValue + "'"}
	args := append([]string{azexecBin, "--identity", "cli", "--"}, child...)
	b.Run("cold", func(b *testing.B) {
		before := w.azRuns()
		timeRuns(b, 0, func(i int) []string {
			dir := w.azureDir(b, fmt.Sprintf("azure-cold-%d", time.Now().UnixNano()))
			return append(slices.Clone(w.base), append(w.vaultRef, "AZURE_CONFIG_DIR="+dir)...)
		}, args...)
		b.ReportMetric(float64(w.azRuns()-before)/float64(b.N), "az-runs/op")
	})
	b.Run("warm", func(b *testing.B) {
		env := append(slices.Clone(w.cli), w.vaultRef...)
		timeRuns(b, 1, fixed(env), args...) // fills the cache
		before := w.azRuns()
		timeRuns(b, 0, fixed(env), args...)
		b.ReportMetric(float64(w.azRuns()-before)/float64(b.N), "az-runs/op")
	})
}

// realAz returns the real az and an environment whose AZURE_CONFIG_DIR
// holds the same azureProfile.json as the fake az's. Skips without an az.
//
// Why `az account show` and not `az account get-access-token`: offline,
// az 2.45 cannot log in to the fake (its MSAL asks
// login.microsoftonline.com to validate any other authority, before any
// cache), so the peer measured is az doing the least it does for a
// command: start, load its command table, read azureProfile.json, print.
// get-access-token does all of that and then reads its MSAL cache: this is
// a floor under the peer, not the peer itself.
func realAz(b *testing.B, w *warmEnv) (string, []string) {
	b.Helper()
	az := os.Getenv("AZEXEC_BENCH_AZ")
	if az == "" {
		az = "/usr/bin/az"
	}
	if _, err := os.Stat(az); err != nil {
		b.Skipf("no az to compare with (%v): apt-get install azure-cli, or set AZEXEC_BENCH_AZ", err)
	}
	return az, append(slices.Clone(w.base), "AZURE_CONFIG_DIR="+w.azureDir(b, "realaz"),
		"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_ONLY_SHOW_ERRORS=true",
		"AZURE_CORE_SURVEY_MESSAGE=false", "AZURE_CORE_NO_COLOR=true")
}
