package providers

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/internal/resolve"
)

// TestFetchNamesTheNetworkCause: a vault that cannot be reached is
// reported with its host and the network's cause, and a hint for that
// cause, as the sign-in is (the shared classifier of package resolve).
func TestFetchNamesTheNetworkCause(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request passed TLS with an untrusted certificate: %s", r.URL)
	}))
	t.Cleanup(untrusted.Close)

	cases := []struct {
		name, host   string
		reason, hint []string
	}{
		{"refused", refused, []string{"no response: cannot reach " + refused + ": connection refused"},
			[]string{"nothing accepts connections at " + refused, "HTTPS_PROXY"}},
		{"untrusted", strings.TrimPrefix(untrusted.URL, "https://"),
			[]string{"no response: the vault's certificate is not trusted (certificate signed by unknown authority)"},
			[]string{"SSL_CERT_FILE", "TLS-inspecting proxy"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Long enough to load the system's roots under -race; the
			// context below ends the retries.
			net := resolve.NewNetwork(time.Minute)
			f := &Fetcher{Credential: &mintCredential{calls: map[string]int{}}, Cloud: resolve.Clouds["public"],
				Transport: net.Transporter(), EmulatorTransport: net.Transporter(), RetryDelay: 10 * time.Millisecond, Timeout: 20 * time.Second,
				Emulators: Emulators{c.host: true}} // loopback: an emulator the user named
			r, err := ParseReference("keyvault://" + c.host + "/db")
			if err != nil {
				t.Fatal(err)
			}
			e := f.Fetch(context.Background(), []Reference{r})[0].Err
			if e == nil {
				t.Fatal("fetched")
			}
			for _, w := range c.reason {
				if !strings.Contains(e.Error(), w) {
					t.Errorf("error %q does not say %q", e, w)
				}
			}
			for _, w := range c.hint {
				if !strings.Contains(e.Hint, w) {
					t.Errorf("hint %q does not mention %q", e.Hint, w)
				}
			}
		})
	}
}
