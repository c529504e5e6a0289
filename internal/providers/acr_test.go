package providers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/fail"
)

func TestRegistryHost(t *testing.T) {
	cases := map[string]string{
		"myreg.azurecr.io":                   "myreg.azurecr.io",
		"MyReg.AzureCR.io\n":                 "myreg.azurecr.io",
		"https://myreg.azurecr.io":           "myreg.azurecr.io",
		"https://myreg.azurecr.io/v2/":       "myreg.azurecr.io",
		"myreg.azurecr.io/v1/":               "myreg.azurecr.io",
		"myreg.azurecr.io:443":               "myreg.azurecr.io",
		"myreg.azurecr.io.":                  "myreg.azurecr.io",
		"https://index.docker.io/v1/":        "index.docker.io",
		"127.0.0.1:5000":                     "127.0.0.1:5000",
		"localhost:5000":                     "localhost:5000",
		"registry.example.com:8443/some/pth": "registry.example.com:8443",
	}
	for in, want := range cases {
		if got, err := RegistryHost(in); err != nil || got != want {
			t.Errorf("RegistryHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "https://user:pw@myreg.azurecr.io", "my reg.azurecr.io", "myreg.azurecr.io:x", "-a.azurecr.io", "a..azurecr.io", "[::1]:5000"} {
		if got, err := RegistryHost(bad); err == nil {
			t.Errorf("RegistryHost(%q) = %q, want an error", bad, got)
		}
	}
}

func TestIsRegistry(t *testing.T) {
	extra := []string{"registry.contoso.com", "https://127.0.0.1:5000/"}
	yes := []string{"myreg.azurecr.io", "myreg.azurecr.cn", "myreg.azurecr.us", "registry.contoso.com", "127.0.0.1:5000"}
	no := []string{"azurecr.io", "index.docker.io", "myreg.azurecr.io.evil.example", "a.b.azurecr.io", "myreg.azurecr.io:5000", "127.0.0.1:5001", "contoso.com", "evilazurecr.io"}
	for _, h := range yes {
		if !IsRegistry(h, extra) {
			t.Errorf("IsRegistry(%q) = false", h)
		}
	}
	for _, h := range no {
		if IsRegistry(h, extra) {
			t.Errorf("IsRegistry(%q) = true", h)
		}
	}
	if c, ok := RegistryCloud("myreg.azurecr.cn"); !ok || c.Name != "china" {
		t.Errorf("RegistryCloud(.cn) = %q, %v", c.Name, ok)
	}
}

// acrStub is a registry's exchange endpoint on a test TLS server.
func acrStub(t *testing.T, h http.HandlerFunc) (host string, opts *policy.ClientOptions) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "https://"), &policy.ClientOptions{
		Transport: srv.Client(),
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond},
	}
}

func TestExchangeACRToken(t *testing.T) {
	const access = "eyJhY2Nlc3MiOiJ0b2tlbiJ9.access.token"
	var calls atomic.Int32
	var host string
	host, opts := acrStub(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if calls.Load() == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // retried
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/oauth2/exchange" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		want := map[string]string{"grant_type": "access_token", "service": host, "tenant": "tid", "access_token": access}
		for k, v := range want {
			if got := r.PostForm.Get(k); got != v {
				t.Errorf("form %s = %q, want %q", k, got, v)
			}
		}
		if r.URL.RawQuery != "" {
			t.Errorf("query %q: nothing belongs in the URL", r.URL.RawQuery)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"refresh_token":"refresh.token.value"}`))
	})
	got, err := ExchangeACRToken(context.Background(), NewACRPipeline(opts), host, "tid", access)
	if err != nil || got != "refresh.token.value" {
		t.Fatalf("got %q, %v", got, err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want 2 (one retry after 503)", calls.Load())
	}
}

func TestExchangeACRTokenErrors(t *testing.T) {
	const access = "eyJhY2Nlc3MiOiJ0b2tlbiJ9.access.token"
	cases := []struct {
		name      string
		status    int
		body      string
		wantMsg   string
		wantHint  bool
		wantNoMsg string
	}{
		{"unauthorized", 401, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit https://aka.ms/acr/authorization for more information.","detail":null}]}`,
			"refused the token exchange (401): authentication required", true, ""},
		{"echoes the token", 400, `{"errors":[{"code":"DENIED","message":"bad token ` + access + `"}]}`,
			"bad token [redacted]", false, access},
		{"oauth shape", 400, `{"error":"invalid_request","error_description":"tenant missing"}`, "tenant missing", false, ""},
		{"no refresh token", 200, `{}`, "without a refresh token", false, ""},
		{"not json", 200, `<html>`, "without a refresh token", false, ""},
	}
	for _, tc := range cases {
		host, opts := acrStub(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		})
		_, err := ExchangeACRToken(context.Background(), NewACRPipeline(opts), host, "tid", access)
		if fail.KindOf(err) != fail.Fetch || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("%s: err = %v, want a fetch error containing %q", tc.name, err, tc.wantMsg)
			continue
		}
		if tc.wantHint != (fail.HintOf(err) != "") {
			t.Errorf("%s: hint %q", tc.name, fail.HintOf(err))
		}
		if tc.wantNoMsg != "" && strings.Contains(err.Error()+fail.HintOf(err), tc.wantNoMsg) {
			t.Errorf("%s: the access token is in the error: %v", tc.name, err)
		}
	}
}

func TestExchangeACRTokenUnreachable(t *testing.T) {
	host, opts := acrStub(t, func(http.ResponseWriter, *http.Request) {})
	// A client that trusts nothing: the TLS handshake fails.
	opts.Transport = &http.Client{}
	_, err := ExchangeACRToken(context.Background(), NewACRPipeline(opts), host, "tid", "tok")
	var fe *fail.Error
	if !errors.As(err, &fe) || fe.Kind != fail.Fetch || fe.Hint == "" {
		t.Errorf("err = %v, want a fetch error with a hint", err)
	}
}

// FuzzRegistryHost: whatever docker sends as a server URL, RegistryHost
// never panics, and what it returns is a plain host[:port] that maps to
// itself, so no path, user or query can reach the exchange URL.
func FuzzRegistryHost(f *testing.F) {
	for _, s := range []string{"myreg.azurecr.io", "https://myreg.azurecr.io/v2/", "127.0.0.1:5000", "https://u:p@h/", "h:443", "a.azurecr.io.", "%", "https://[::1]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := RegistryHost(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(h, "/@?#% \t\r\n\\[]") || h == "" {
			t.Fatalf("RegistryHost(%q) = %q", in, h)
		}
		if again, err := RegistryHost(h); err != nil || again != h {
			t.Fatalf("RegistryHost(%q) = %q, then %q, %v", in, h, again, err)
		}
	})
}
