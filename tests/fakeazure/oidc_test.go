package fakeazure_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azexec/azexec/tests/fakeazure"
)

// assertionCred is a ClientAssertionCredential presenting fixed tokens.
func assertionCred(t *testing.T, srv *fakeazure.Server, tenant string, assertion func() string) *azidentity.ClientAssertionCredential {
	t.Helper()
	cred, err := azidentity.NewClientAssertionCredential(tenant, testClient,
		func(context.Context) (string, error) { return assertion(), nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(srv), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// TestGitHubIssuer: the issuer answers only its own request token, with
// the audience asked for; the token endpoint accepts its tokens only for a
// matching federated credential, unexpired and unaltered, and names what
// it expected otherwise.
func TestGitHubIssuer(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	const sub = "repo:o/r:ref:refs/heads/main"
	iss := srv.AddGitHubIssuer(sub, time.Minute)
	tenant := srv.Tenant()
	srv.AddFederatedCredential(tenant, testClient, fakeazure.FederatedCredential{Issuer: iss.Issuer, Subject: sub, Audience: "api://AzureADTokenExchange"})

	fetch := func(bearer, audience string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, iss.RequestURL+"&audience="+audience, nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct{ Value string }
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r.Value
	}
	if code, _ := fetch("wrong", "api://AzureADTokenExchange"); code != http.StatusUnauthorized {
		t.Errorf("wrong request token: %d, want 401", code)
	}
	code, good := fetch(iss.RequestToken, "api://AzureADTokenExchange")
	if code != http.StatusOK || decode(t, good).Aud != "api://AzureADTokenExchange" || decode(t, good).Sub != sub {
		t.Fatalf("status %d, claims %+v", code, decode(t, good))
	}
	if _, err := getToken(t, assertionCred(t, srv, tenant, func() string { return good }), vaultScope); err != nil {
		t.Fatalf("matching token refused: %v", err)
	}

	_, otherAud := fetch(iss.RequestToken, "api://Other")
	parts := strings.Split(good, ".")
	// Another issuer's signature over this token's header and claims.
	forged := strings.Split(srv.AddGitHubIssuer(sub, time.Minute).Mint(sub, "x", time.Minute), ".")[2]
	altered := parts[0] + "." + parts[1] + "." + forged
	for name, tc := range map[string]struct{ tok, code string }{
		"wrong audience": {otherAud, "AADSTS700212"},
		"wrong subject":  {iss.Mint("repo:o/r:pull_request", "api://AzureADTokenExchange", time.Minute), "AADSTS700213"},
		"expired":        {iss.Mint(sub, "api://AzureADTokenExchange", -time.Second), "AADSTS700024"},
		"altered":        {altered, "AADSTS50013"},
	} {
		_, err := getToken(t, assertionCred(t, srv, tenant, func() string { return tc.tok }), uniqueResource(strings.ReplaceAll(name, " ", "-"))+"/.default")
		if err == nil || !strings.Contains(err.Error(), tc.code) {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
		if strings.HasPrefix(tc.code, "AADSTS70021") && !strings.Contains(err.Error(), "subject '"+sub+"', audience 'api://AzureADTokenExchange'") {
			t.Errorf("%s: the error does not name what the credential expects: %v", name, err)
		}
	}
	if n := srv.CountRequests(fakeazure.KindGitHubOIDC); n != 3 {
		t.Errorf("%d OIDC requests logged, want 3", n)
	}
}

// TestDevOpsIssuer: POST with the service connection, as
// AzurePipelinesCredential sends it, through the real credential.
func TestDevOpsIssuer(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	iss := srv.AddDevOpsIssuer(time.Minute)
	const conn, sub = "5f3a1c2e-0000-4000-8000-000000000001", "sc://org/project/conn"
	iss.AddServiceConnection(conn, sub)
	srv.AddFederatedCredential(srv.Tenant(), testClient, fakeazure.FederatedCredential{Issuer: iss.Issuer, Subject: sub, Audience: "api://AzureADTokenExchange"})
	t.Setenv("SYSTEM_OIDCREQUESTURI", iss.RequestURL)
	for _, tc := range []struct{ conn, token, want string }{
		{conn, iss.RequestToken, ""},
		{conn, "stale", "401"},
		{"00000000-0000-4000-8000-000000000000", iss.RequestToken, "404"},
	} {
		cred, err := azidentity.NewAzurePipelinesCredential(srv.Tenant(), testClient, tc.conn, tc.token,
			&azidentity.AzurePipelinesCredentialOptions{ClientOptions: clientOptions(srv), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = getToken(t, cred, vaultScope)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.conn, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s/%s: %v, want %s", tc.conn, tc.token, err, tc.want)
		}
	}
	if len(srv.IssuedAssertions()) != 1 {
		t.Errorf("%d assertions issued, want 1", len(srv.IssuedAssertions()))
	}
}
