package kube

import (
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// burstSize is how many pods TestPodBurst creates at once.
const burstSize = 200

// TestPodBurst creates 200 pods at once through the API server, three
// times: in a namespace the webhook is never sent (the API server alone),
// opted in with a command (the webhook's patch), and opted in without one
// (the entrypoint read from the registry, four images). It fails if the
// registry is asked more than once per digest; the latencies are figures
// for docs/kubernetes.md, logged, never asserted.
func TestPodBurst(t *testing.T) {
	r := sharedRegistry(t)
	manifests0, blobs0 := r.manifests.Load(), r.blobs.Load()
	base := burst(t, ownNamespace, "burst-base", func(i int) corev1.Container { return app("web", "/bin/web") })
	wrapped := burst(t, appsNamespace, "burst-cmd", func(i int) corev1.Container { return app("web", "/bin/web") })
	fromReg := burst(t, appsNamespace, "burst-reg", func(i int) corev1.Container {
		return corev1.Container{Name: "web", Image: fmt.Sprintf("%s/bench/app:%c", r.host, 'a'+i%4)}
	})
	manifests, blobs := r.manifests.Load()-manifests0, r.blobs.Load()-blobs0
	// Per digest: a HEAD for the tag, a GET of the manifest, a GET of
	// the config blob.
	if manifests > 8 || blobs > 4 {
		t.Errorf("registry asked %d times for manifests and %d for blobs for 4 digests, want at most 8 and 4", manifests, blobs)
	}
	t.Logf("create latency, %d pods at once (p50 / p99 / max):", burstSize)
	for _, b := range []struct {
		name string
		d    []time.Duration
	}{{"API server alone (webhook not called)", base}, {"webhook, command in the spec", wrapped}, {"webhook, entrypoint from the registry", fromReg}} {
		t.Logf("  %-40s %8v %8v %8v", b.name, pct(b.d, 50), pct(b.d, 99), pct(b.d, 100))
	}
	took := webhookTimes("burst-")
	t.Logf("webhook handling time, %d admissions: p50 %v, p99 %v, max %v", len(took), pct(took, 50), pct(took, 99), pct(took, 100))
	t.Logf("registry requests for the 200 registry pods: %d manifest, %d blob (4 digests)", manifests, blobs)
}

// burst creates burstSize pods at once and returns each create's latency.
func burst(t *testing.T, ns, prefix string, c func(int) corev1.Container) []time.Duration {
	t.Helper()
	lat := make([]time.Duration, burstSize)
	errs := make([]error, burstSize)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range burstSize {
		wg.Go(func() {
			p := newPod(fmt.Sprintf("%s-%03d", prefix, i), optIn, c(i))
			<-start
			t0 := time.Now()
			_, errs[i] = theCluster.client.CoreV1().Pods(ns).Create(bg(), p, metav1.CreateOptions{})
			lat[i] = time.Since(t0)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pod %d: %v", i, err)
		}
	}
	return lat
}

// webhookTimes reads the took= of the webhook's admission lines for pods
// named with prefix.
func webhookTimes(prefix string) []time.Duration {
	re := regexp.MustCompile(`pod=` + regexp.QuoteMeta(prefix) + `\S* .*?took=(\S+)`)
	var out []time.Duration
	for _, m := range re.FindAllStringSubmatch(theCluster.webhookLog.String(), -1) {
		if d, err := time.ParseDuration(m[1]); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// pct is the p-th percentile (nearest rank) of d.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return s[i].Round(100 * time.Microsecond)
}
