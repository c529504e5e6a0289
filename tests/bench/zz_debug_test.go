package bench

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

func BenchmarkZZTimeline(b *testing.B) {
	s, env := setup(b)
	for _, bin := range binaries() {
		s.Reset()
		cmd := exec.Command(bin[1], "--", "true")
		cmd.Env = env
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("== %s: %s\n", bin[0], time.Since(start))
		reqs := s.Requests()
		buckets := map[string]int{}
		for _, r := range reqs {
			k := fmt.Sprintf("%5d %s %d", r.Time.Sub(start).Milliseconds()/25*25, r.Kind, r.Status)
			buckets[k]++
		}
		for _, r := range reqs {
			k := fmt.Sprintf("%5d %s %d", r.Time.Sub(start).Milliseconds()/25*25, r.Kind, r.Status)
			if buckets[k] > 0 {
				fmt.Printf("%s x%d\n", k, buckets[k])
				buckets[k] = 0
			}
		}
	}
}
