package resolve

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseJWTClaims: any input, a JWT or not, yields claims or nothing,
// and never panics; a well-formed one yields its iss, sub and aud.
func FuzzParseJWTClaims(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add("a." + enc(`{"iss":"i","sub":"s","aud":"a"}`) + ".c")
	f.Add("a." + enc(`{"aud":["x","y"]}`) + ".c")
	f.Add("a." + enc(`{"aud":[1,{}]}`) + ".c")
	f.Add("..")
	f.Add("not a jwt")
	f.Fuzz(func(t *testing.T, tok string) {
		_ = parseJWTClaims(tok)
	})
}

func TestParseJWTClaims(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	c := parseJWTClaims("h." + enc(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:o/r:ref:refs/heads/main","aud":"api://AzureADTokenExchange"}`) + ".s")
	if c.Iss != "https://token.actions.githubusercontent.com" || c.Sub != "repo:o/r:ref:refs/heads/main" || c.Aud != "api://AzureADTokenExchange" {
		t.Errorf("%+v", c)
	}
	if c := parseJWTClaims("h." + enc(`{"aud":["a","b"]}`) + ".s"); c.Aud != "a,b" {
		t.Errorf("array aud: %+v", c)
	}
}

// TestGitHubSourceSkips: without the job's request variables, or without
// the application's ids, the source is skipped (auto moves on), with the
// id-token hint only when the job is a GitHub Actions job.
func TestGitHubSourceSkips(t *testing.T) {
	cases := []struct {
		environ  []string
		reason   string
		wantHint bool
	}{
		{nil, "ACTIONS_ID_TOKEN_REQUEST_URL", false},
		{[]string{"GITHUB_ACTIONS=true"}, "id-token: write", true},
		{[]string{"ACTIONS_ID_TOKEN_REQUEST_URL=https://x.example/t", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=t", "AZURE_TENANT_ID=t"}, "AZURE_CLIENT_ID", true},
	}
	for _, tc := range cases {
		_, err := githubSource{}.Load(&Config{Env: ProcessEnviron(tc.environ), Cloud: Clouds["public"]})
		u, ok := err.(*UnavailableError)
		if !ok {
			t.Fatalf("%q: %v, want unavailable", tc.environ, err)
		}
		if !strings.Contains(u.Reason, tc.reason) || (u.Hint != "") != tc.wantHint {
			t.Errorf("%q: reason %q hint %q", tc.environ, u.Reason, u.Hint)
		}
	}
	_, err := githubSource{}.Load(&Config{Env: ProcessEnviron([]string{"ACTIONS_ID_TOKEN_REQUEST_URL=http://x.example/t",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=t", "AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c"}), Cloud: Clouds["public"]})
	if err == nil || IsUnavailable(err) {
		t.Errorf("plain http request URL: %v, want a configuration error", err)
	}
}

// TestFederatedAudience: the documented audience per cloud.
func TestFederatedAudience(t *testing.T) {
	for name, want := range map[string]string{"public": "api://AzureADTokenExchange", "china": "api://AzureADTokenExchangeChina",
		"usgov": "api://AzureADTokenExchangeUSGov"} {
		if got := FederatedAudience(Clouds[name]); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
