package endpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/inject"
)

// countingCred hands out one token per scope and counts requests.
type countingCred struct {
	calls  atomic.Int32
	mu     sync.Mutex
	scopes []string
}

func (c *countingCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls.Add(1)
	c.mu.Lock()
	c.scopes = append(c.scopes, o.Scopes...)
	c.mu.Unlock()
	return azcore.AccessToken{Token: "tok-for-" + o.Scopes[0], ExpiresOn: time.Unix(2000000000, 0)}, nil
}

func startTestEndpoint(t testing.TB, allow ...string) (*Server, *countingCred) {
	cred := &countingCred{}
	e, err := startServer(t, Options{Credential: cred, ClientID: "cid", ObjectID: "oid", AllowResources: allow})
	if err != nil {
		t.Fatal(err)
	}
	return e, cred
}

// startServer starts a server on a free loopback port with a fresh
// secret (unless o has them), closed when t ends.
func startServer(t testing.TB, o Options) (*Server, error) {
	t.Helper()
	if o.Listener == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o.Listener = ln
	}
	if o.Secret == "" {
		var err error
		if o.Secret, err = NewSecret(); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Start(o)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// header is the secret a client sends.
func (s *Server) header() string { return s.opts.Secret }

func get(t testing.TB, e *Server, header string, query string) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodGet, e.URL()+"?"+query, nil)
	if header != "" {
		req.Header.Set("X-IDENTITY-HEADER", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestEndpointProtocol(t *testing.T) {
	e, cred := startTestEndpoint(t, "https://vault.azure.net/.default")
	if len(e.header()) != 64 {
		t.Errorf("header has %d hex digits, want 64 (256 bits)", len(e.header()))
	}
	u, _ := url.Parse(e.URL())
	if u.Hostname() != "127.0.0.1" || u.Scheme != "http" {
		t.Errorf("endpoint %s is not plain http on 127.0.0.1", e.URL())
	}
	ok := "api-version=2019-08-01&resource=https://vault.azure.net"
	cases := []struct {
		name, header, query string
		want                int
	}{
		{"no header", "", ok, 401},
		{"wrong header", "x" + e.header()[1:], ok, 401},
		{"no resource", e.header(), "api-version=2019-08-01", 400},
		{"old api version", e.header(), "api-version=2017-09-01&resource=https://vault.azure.net", 400},
		{"other client id", e.header(), ok + "&client_id=someone-else", 400},
		{"other object id", e.header(), ok + "&object_id=someone-else", 400},
		{"resource id", e.header(), ok + "&mi_res_id=/subscriptions/x", 400},
		{"outside allow list", e.header(), "api-version=2019-08-01&resource=https://management.azure.com/", 403},
		{"ok", e.header(), ok, 200},
		{"scope form", e.header(), "api-version=2019-08-01&resource=https://vault.azure.net/.default", 400},
		{"ok, own client id", e.header(), "api-version=2019-08-01&resource=https://vault.azure.net&client_id=CID", 200},
	}
	for _, tc := range cases {
		status, body := get(t, e, tc.header, tc.query)
		if status != tc.want {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, status, tc.want, body)
		}
		if status != 200 {
			if _, has := body["access_token"]; has {
				t.Errorf("%s: refused request got a token", tc.name)
			}
			continue
		}
		if body["access_token"] != "tok-for-https://vault.azure.net/.default" || body["token_type"] != "Bearer" || body["client_id"] != "cid" {
			t.Errorf("%s: body %v", tc.name, body)
		}
		if exp, ok := body["expires_on"].(string); !ok || exp != strconv.Itoa(2000000000) {
			t.Errorf("%s: expires_on = %#v, want the string of Unix seconds", tc.name, body["expires_on"])
		}
	}
	if n := cred.calls.Load(); n != 1 {
		t.Errorf("credential asked %d times, want 1 (refused requests must not fetch; the second is cached)", n)
	}
}

func TestEndpointBoundsRequests(t *testing.T) {
	e, _ := startTestEndpoint(t)
	req, _ := http.NewRequest(http.MethodGet, e.URL()+"?api-version=2019-08-01&resource=r", nil)
	req.Header.Set("X-IDENTITY-HEADER", e.header())
	req.Header.Set("X-Padding", string(make([]byte, 64<<10)))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("oversized request: status %d", resp.StatusCode)
		}
	}
	status, _ := get(t, e, e.header(), "api-version=2019-08-01&resource="+url.QueryEscape("a b"))
	if status != 400 {
		t.Errorf("malformed resource: %d", status)
	}
}

func TestEndpointApplyRemovesBootstrapSecrets(t *testing.T) {
	e, _ := startTestEndpoint(t)
	env := inject.NewEnv([]string{"AZURE_CLIENT_SECRET=s", "AZURE_FEDERATED_TOKEN_FILE=/f", "IDENTITY_ENDPOINT=http://old",
		"MSI_SECRET=m", "ARM_CLIENT_SECRET=a", "AZURE_CLIENT_ID=other", "AZURE_TENANT_ID=t", "HOME=/h",
		"AZEXEC_KEYRING_PASSWORD=p", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=x"})
	e.Apply(env)
	for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "ARM_CLIENT_SECRET", "AZURE_CLIENT_ID",
		"AZEXEC_KEYRING_PASSWORD", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
		if _, ok := env.Get(k); ok {
			t.Errorf("%s survived", k)
		}
	}
	if v, _ := env.Get("IDENTITY_ENDPOINT"); v != e.URL() {
		t.Errorf("IDENTITY_ENDPOINT = %q", v)
	}
	if v, _ := env.Get("IDENTITY_HEADER"); v != e.header() {
		t.Error("IDENTITY_HEADER not set")
	}
	if v, _ := env.Get("MSI_SECRET"); v != e.header() {
		t.Error("MSI_SECRET not replaced by the run's secret")
	}
	if v, _ := env.Get("MSI_ENDPOINT"); v != e.base+e.msiPath {
		t.Errorf("MSI_ENDPOINT = %q", v)
	}
	if v, _ := env.Get("HOME"); v != "/h" {
		t.Error("unrelated variable lost")
	}
}

// FuzzParseTokenRequest: no query panics the parser, and an accepted
// request always has a canonical resource, which is the query's only
// resource parameter, unchanged.
func FuzzParseTokenRequest(f *testing.F) {
	f.Add("GET", "/msi/token", "api-version=2019-08-01&resource=https://vault.azure.net")
	f.Add("GET", "/msi/token", "api-version=2019-08-01&resource=%00&client_id=x")
	f.Add("POST", "/", "")
	f.Fuzz(func(t *testing.T, method, path, rawQuery string) {
		r, err := parseTokenRequest(method, path, rawQuery)
		if err != nil {
			return
		}
		q, qerr := url.ParseQuery(rawQuery)
		if qerr != nil || len(q["resource"]) != 1 || q["resource"][0] != r.resource || method != "GET" || path != appServicePath {
			t.Fatalf("accepted %q %q %q", method, path, rawQuery)
		}
		if c, err := CanonicalResource(r.resource); err != nil || c != r.resource {
			t.Fatalf("accepted resource %q is not canonical (%v)", r.resource, err)
		}
	})
}

// BenchmarkEndpointCachedToken measures a token request answered from the
// cache, at 1 and 64 concurrent clients, reporting p50 and p99 latency.
func BenchmarkEndpointCachedToken(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			e, _ := startTestEndpoint(b)
			tr := &http.Transport{MaxIdleConnsPerHost: clients}
			client := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			req := func() time.Duration {
				r, _ := http.NewRequest(http.MethodGet, e.URL()+"?api-version=2019-08-01&resource=https://vault.azure.net", nil)
				r.Header.Set("X-IDENTITY-HEADER", e.header())
				start := time.Now()
				resp, err := client.Do(r)
				if err != nil {
					b.Error(err)
					return 0
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return time.Since(start)
			}
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						d := req()
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
		})
	}
}
