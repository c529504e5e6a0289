package fakeazure_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
)

// exchange posts form to the registry's /oauth2/exchange and returns the
// status and the decoded body.
func exchange(t *testing.T, srv *fakeazure.Server, host string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client().PostForm("https://"+host+"/oauth2/exchange", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestRegistryExchange(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	host, err := srv.AddRegistry("myregistry")
	must(t, err)
	if _, err := srv.AddRegistry("MyRegistry"); err == nil {
		t.Error("a second registry of the same name was added")
	}
	if !strings.HasPrefix(host, "127.0.0.1:") {
		t.Fatalf("host %q", host)
	}
	form := func(tok string) url.Values {
		return url.Values{"grant_type": {"access_token"}, "service": {host}, "tenant": {tenant}, "access_token": {tok}}
	}
	acr := srv.MintToken(tenant, testClient, fakeazure.ACRAudience+"/.default", 0)
	arm := srv.MintToken(tenant, testClient, fakeazure.ManagementAudience, 0)

	for _, tok := range []string{acr, arm} {
		status, body := exchange(t, srv, host, form(tok))
		refresh, _ := body["refresh_token"].(string)
		if status != http.StatusOK || refresh == "" {
			t.Fatalf("exchange: %d %v", status, body)
		}
		if !slices.Contains(srv.IssuedTokens(), refresh) || !slices.Contains(srv.RegistryTokens("MYREGISTRY"), refresh) {
			t.Error("the refresh token is not recorded")
		}
		c := decode(t, refresh)
		if c.Aud != host {
			t.Errorf("refresh token aud %q, want %q", c.Aud, host)
		}
	}

	refused := func(name string, f url.Values, want int) {
		t.Helper()
		status, body := exchange(t, srv, host, f)
		errs, _ := body["errors"].([]any)
		if status != want || len(errs) != 1 {
			t.Errorf("%s: %d %v, want %d with ACR's error shape", name, status, body, want)
		}
	}
	vault := srv.MintToken(tenant, testClient, fakeazure.VaultAudience, 0)
	refused("foreign token", form("eyJ.not.ours"), 401)
	refused("wrong audience", form(vault), 401)
	f := form(acr)
	f.Set("tenant", "00000000-0000-0000-0000-000000000001")
	refused("other tenant", f, 401)
	f = form(acr)
	f.Set("grant_type", "refresh_token")
	refused("grant type", f, 400)
	f = form(acr)
	f.Set("service", "other.azurecr.io")
	refused("service", f, 400)

	must(t, srv.DisableARMAudience("myregistry"))
	refused("ARM audience disabled", form(arm), 401)
	if status, _ := exchange(t, srv, host, form(acr)); status != http.StatusOK {
		t.Errorf("ACR audience with ARM disabled: %d", status)
	}
	must(t, srv.DenyRegistry("myregistry", fakeazure.ObjectID(tenant, testClient)))
	refused("denied", form(acr), 401)
	if n := srv.CountRequests(fakeazure.KindACR); n != 10 {
		t.Errorf("%d registry requests logged, want 10", n)
	}
}
