package providers

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/resolve"
)

// tokenStub answers GetToken with err, or a token naming the request.
type tokenStub struct {
	err  error
	last policy.TokenRequestOptions
}

func (s *tokenStub) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	s.last = o
	if s.err != nil {
		return azcore.AccessToken{}, s.err
	}
	return azcore.AccessToken{Token: "tok:" + strings.Join(o.Scopes, " "), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestToken(t *testing.T) {
	stub := &tokenStub{}
	id := &resolve.Identity{Source: "env", Credential: stub}
	tok, err := Token(context.Background(), id, "s/.default", "other-tenant")
	if err != nil || tok.Token != "tok:s/.default" || stub.last.TenantID != "other-tenant" {
		t.Fatalf("got %q, %v (request %+v)", tok.Token, err, stub.last)
	}

	cases := []struct {
		err      string
		source   string
		wantMsg  string
		wantHint string
	}{
		{"ClientSecretCredential: authentication failed\nPOST https://x\n--------\nAADSTS7000222: The provided client secret keys for app 'x' are expired.\r\nTrace ID: 1",
			"env", "AADSTS7000222: The provided client secret keys for app 'x' are expired.", "az ad app credential reset"},
		{`ClientSecretCredential isn't configured to acquire tokens for tenant "t2". To enable acquiring tokens for this tenant add it to the AdditionallyAllowedTenants`,
			"env", "isn't configured to acquire tokens", "AZURE_ADDITIONALLY_ALLOWED_TENANTS=t2"},
		{"AzureCLICredential: ERROR: Please run 'az login' to setup account.", "cli", "not logged in to the Azure CLI", "az login"},
		{"AADSTS500011: The resource principal named x was not found in the tenant named y.", "managed", "AADSTS500011", "not known in this tenant"},
	}
	for _, tc := range cases {
		id := &resolve.Identity{Source: tc.source, Credential: &tokenStub{err: errors.New(tc.err)}}
		tenant := ""
		if strings.Contains(tc.err, "t2") {
			tenant = "t2"
		}
		_, err := Token(context.Background(), id, "s/.default", tenant)
		if fail.KindOf(err) != fail.Fetch || !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), `"s/.default"`) {
			t.Errorf("%s: err = %v, want a fetch error naming the scope and %q", tc.source, err, tc.wantMsg)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: a multi-line message: %q", tc.source, err)
		}
		if h := fail.HintOf(err); !strings.Contains(h, tc.wantHint) {
			t.Errorf("%s: hint %q, want it to contain %q", tc.source, h, tc.wantHint)
		}
	}
}

func TestAZTokenFields(t *testing.T) {
	exp := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	b, err := json.Marshal(NewAZToken(azcore.AccessToken{Token: "t", ExpiresOn: exp}, "tid", ""))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"accessToken": "t", "expires_on": float64(exp.Unix()), "tenant": "tid", "tokenType": "Bearer",
		"expiresOn": exp.Local().Format("2006-01-02 15:04:05.000000"),
	}
	if len(m) != len(want) {
		t.Errorf("fields %v, want %v (subscription only when known)", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	parsed, err := time.ParseInLocation("2006-01-02 15:04:05.999999", m["expiresOn"].(string), time.Local)
	if err != nil || !parsed.Equal(exp) {
		t.Errorf("expiresOn %v does not read back (as azidentity reads it) as %v: %v", m["expiresOn"], exp, err)
	}
	b, _ = json.Marshal(NewAZToken(azcore.AccessToken{Token: "t", ExpiresOn: exp}, "tid", "sub"))
	if !strings.Contains(string(b), `"subscription":"sub"`) {
		t.Errorf("no subscription in %s", b)
	}
}
