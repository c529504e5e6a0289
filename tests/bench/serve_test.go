package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

// The identity endpoint of azexec serve, measured from outside: the built
// binary as its own process, 64 clients in this one (docs/containers.md,
// "Performance"):
//
//	tests/offline.sh go test -run '^$' -bench 'ServeCached' -benchtime 20000x -count 3 ./tests/bench/
//	tests/offline.sh go test -run '^$' -bench 'ServeColdBurst' -benchtime 5x ./tests/bench/
//
// BenchmarkServeCached/bare-http is the peer measured in the same run: a
// net/http server in its own process answering a constant token, the floor
// of loopback HTTP with 64 clients on this machine.

// serveEnv starts a fake Azure (no added latency) with a service
// principal, and returns it and azexec's environment.
func serveEnv(b *testing.B) (*fakeazure.Server, []string) {
	b.Helper()
	dir := b.TempDir()
	s, err := fakeazure.Start(fakeazure.Options{Dir: filepath.Join(dir, "fake")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	const client, secret = "bench-serve-client", "bench-serve-secret"
	s.AddServicePrincipal(s.Tenant(), client, secret)
	return s, []string{
		"PATH=" + testenv.Tools(b), "HOME=" + dir, "SSL_CERT_FILE=" + s.CAFile, "AZURE_AUTHORITY_HOST=" + s.URL + "/",
		"AZURE_TENANT_ID=" + s.Tenant(), "AZURE_CLIENT_ID=" + client, "AZURE_CLIENT_SECRET=" + secret,
		"AZURE_SUBSCRIPTION_ID=00000000-0000-4000-8000-000000000000",
		// Each serve starts cold: the token cache of a previous iteration
		// would answer the burst without any upstream request.
		"AZEXEC_NO_CACHE=1",
	}
}

// startServe runs azexec serve --print json (or argv instead) and returns
// the App Service endpoint and header it printed, and a function that
// stops it (also called when b ends).
func startServe(b *testing.B, env []string, argv ...string) (endpoint, header string, stop func()) {
	b.Helper()
	if len(argv) == 0 {
		argv = []string{azexecBin, "serve", "--print", "json"}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	b.Cleanup(stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("%s printed no variables: %v", argv[0], err)
	}
	var vars map[string]string
	if err := json.Unmarshal([]byte(line), &vars); err != nil {
		b.Fatal(err)
	}
	return vars["IDENTITY_ENDPOINT"], vars["IDENTITY_HEADER"], stop
}

// client asks for resource's token; keep-alive connections, as an SDK's
// pipeline keeps them.
type client struct {
	http             *http.Client
	endpoint, header string
}

func newClient(endpoint, header string, conns int) *client {
	return &client{http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: conns}},
		endpoint: endpoint, header: header}
}

func (c *client) token(resource string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, c.endpoint+"?api-version=2019-08-01&resource="+url.QueryEscape(resource), nil)
	req.Header.Set("X-IDENTITY-HEADER", c.header)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start), nil
}

// hammer makes b.N requests from clients goroutines and reports p50 and
// p99 latency.
func hammer(b *testing.B, c *client, clients int, resource string) {
	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				d, err := c.token(resource)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkServeCached: 64 concurrent clients asking for a cached token,
// against azexec serve and against the bare peer.
func BenchmarkServeCached(b *testing.B) {
	const clients = 64
	const resource = "https://vault.azure.net"
	b.Run("azexec-serve", func(b *testing.B) {
		_, env := serveEnv(b)
		ep, hdr, _ := startServe(b, env)
		c := newClient(ep, hdr, clients)
		if _, err := c.token(resource); err != nil { // warm the cache
			b.Fatal(err)
		}
		hammer(b, c, clients, resource)
	})
	b.Run("bare-http", func(b *testing.B) {
		ep, hdr, _ := startServe(b, []string{"AZEXEC_BENCH_BARE_SERVER=1"}, bareServer()...)
		hammer(b, newClient(ep, hdr, clients), clients, resource)
	})
}

// BenchmarkServeColdBurst: 64 clients asking at once for a scope not yet
// cached, each iteration against a fresh azexec serve; reports the
// upstream token requests the burst cost (the goal: exactly 1).
func BenchmarkServeColdBurst(b *testing.B) {
	s, env := serveEnv(b)
	var upstream int
	for range b.N {
		b.StopTimer()
		ep, hdr, stop := startServe(b, env)
		c := newClient(ep, hdr, 64)
		before := s.CountRequests(fakeazure.KindToken)
		start := make(chan struct{})
		var wg sync.WaitGroup
		b.StartTimer()
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := c.token("https://storage.azure.com"); err != nil {
					b.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		b.StopTimer()
		upstream += s.CountRequests(fakeazure.KindToken) - before
		stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(upstream)/float64(b.N), "upstream-requests/burst")
}

// bareServer returns the command line of the peer: this test binary run
// as a plain net/http server (TestBareTokenServer) that answers a fixed
// token and prints its variables as azexec serve --print json does.
func bareServer() []string {
	return []string{os.Args[0], "-test.run", "^TestBareTokenServer$"}
}

// bareServerMode is set in the peer's process.
var bareServerMode = os.Getenv("AZEXEC_BENCH_BARE_SERVER") != ""

// TestBareTokenServer is the peer of BenchmarkServeCached when
// AZEXEC_BENCH_BARE_SERVER is set (bareServer sets it): it listens on
// loopback, prints its endpoint and serves until killed.
func TestBareTokenServer(t *testing.T) {
	if !bareServerMode {
		t.Skip("the benchmark's peer; runs only as bareServer starts it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"access_token":"x","expires_on":"2000000000","resource":"https://vault.azure.net","token_type":"Bearer"}`)
	fmt.Printf("{\"IDENTITY_ENDPOINT\":\"http://%s/msi/token\",\"IDENTITY_HEADER\":\"h\"}\n", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
}
