package resolve

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
)

// scopedCred returns a different token for every scope.
type scopedCred struct{ stubCred }

func (c *scopedCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	t, err := c.stubCred.GetToken(ctx, o)
	t.Token += "-" + o.Scopes[0]
	return t, err
}

// TestChainReportsLaterTokens: a token the resolved identity's credential
// returns after resolution (a Key Vault token, a --token value, one the
// identity endpoint serves) is reported before the caller has it.
func TestChainReportsLaterTokens(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	cred := &scopedCred{stubCred{token: jwt(`{"tid":"t"}`)}}
	ch := &Chain{Sources: []Source{credSource{cred}}, OnSecret: func(s string) { mu.Lock(); seen = append(seen, s); mu.Unlock() }}
	id, _, err := ch.Resolve(context.Background(), &Config{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := id.Credential.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(seen, tok.Token) {
		t.Errorf("the Key Vault token was not reported (saw %d values)", len(seen))
	}
}

type credSource struct{ cred *scopedCred }

func (credSource) Name() string { return "cli" }
func (s credSource) Load(*Config) (*Candidate, error) {
	return &Candidate{Credential: s.cred, Identity: Identity{Cloud: Clouds["public"]}}, nil
}

// TestReportSecretsOfSources: the managed identity header is reported
// before the first request.
func TestReportSecretsOfSources(t *testing.T) {
	env := map[string]string{"IDENTITY_HEADER": "identity-header-value", "MSI_SECRET": "msi-secret-value"}
	cfg := &Config{Env: environOf(env)}
	var seen []string
	ch := &Chain{OnSecret: func(s string) { seen = append(seen, s) }}
	ch.reportSecrets(cfg, managedSource{}, &Candidate{})
	for _, want := range []string{"identity-header-value", "msi-secret-value"} {
		if !slices.Contains(seen, want) {
			t.Errorf("%q not reported: %q", want, seen)
		}
	}
}

type okTransport struct{}

func (okTransport) Do(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	if string(b) != "client_id=c&client_assertion=eyJ.assert.ion&grant_type=client_credentials" {
		return nil, errors.New("body not rewound: " + string(b))
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

// TestReportingPolicy: every credential an identity source's SDK client
// sends (form fields, Authorization, X-IDENTITY-HEADER) is reported, and
// the body still reaches the server whole.
func TestReportingPolicy(t *testing.T) {
	var seen []string
	cfg := withReporting(&Config{}, func(s string) { seen = append(seen, s) })
	o := cfg.ClientOptions
	o.Transport = okTransport{}
	o.Retry.MaxRetries = -1
	pl := runtime.NewPipeline("test", "v0", runtime.PipelineOptions{}, &o)
	req, err := runtime.NewRequest(context.Background(), http.MethodPost, "https://login.example/t/oauth2/v2.0/token")
	if err != nil {
		t.Fatal(err)
	}
	req.Raw().Header.Set("Authorization", "Bearer bearer-token-value")
	req.Raw().Header.Set("X-IDENTITY-HEADER", "identity-header-value")
	body := "client_id=c&client_assertion=eyJ.assert.ion&grant_type=client_credentials"
	if err := req.SetBody(streaming.NopCloser(strings.NewReader(body)), "application/x-www-form-urlencoded"); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Do(req); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bearer-token-value", "identity-header-value", "eyJ.assert.ion"} {
		if !slices.Contains(seen, want) {
			t.Errorf("%q not reported: %q", want, seen)
		}
	}
}
