package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
)

// Attack: servers that echo credentials back. A token endpoint that puts
// the whole request form into its error_description (the client secret
// URL-encoded, the client assertion), a vault that copies the request's
// Authorization header into its error body (plain, JSON-escaped, \u
// escaped), and a managed identity endpoint that echoes X-IDENTITY-HEADER.
// The Azure SDK puts such bodies into its errors and, at trace level, its
// log; azexec's scrubber must mask every echoed value in every encoding,
// and cut the bodies. Each test runs azexec at trace level, in text and
// JSON, and fails if any secret, token (whole, payload or signature),
// passphrase or echoed value shows in stdout or stderr, in any encoding.

// echoSecret is a client secret whose URL and JSON encodings differ from
// it: + / = (form encoding), < > & " and \ (JSON escapes), a space ('+'
// in a form).
func echoSecret() string {
	return "e2e8Q~" + randomHex(10) + `+a/b=c<d>e&f"g h\i` + randomHex(4)
}

// leakForms is v in every encoding a server echo or azexec's JSON log
// might give it.
func leakForms(v string) map[string]string {
	upper := regexp.MustCompile(`%[0-9A-F]{2}`)
	lower := func(s string) string { return upper.ReplaceAllStringFunc(s, strings.ToLower) }
	js := func(s string) string {
		b, _ := json.Marshal(s) // HTML-safe: \u003c \u003e \u0026
		return string(b[1 : len(b)-1])
	}
	plainJS := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	return map[string]string{
		"plain":                  v,
		"query-escaped":          url.QueryEscape(v),
		"query-escaped lower":    lower(url.QueryEscape(v)),
		"path-escaped":           url.PathEscape(v),
		"path-escaped lower":     lower(url.PathEscape(v)),
		"json-escaped":           plainJS.Replace(js(v)),
		"json-escaped html-safe": js(v),
		"json slashes":           strings.ReplaceAll(js(v), "/", `\/`),
		"json in json":           js(js(v)),
		"query in json":          js(url.QueryEscape(v)),
	}
}

// checkNoLeak fails for every secret, every echoed value and every token
// the fake issued (whole, payload or signature) that out holds in any of
// the leakForms.
func checkNoLeak(t *testing.T, f *fake, out string, secrets []string) {
	t.Helper()
	var all []string
	named := map[string]string{}
	for i, s := range secrets {
		named[s] = "secret " + string(rune('0'+i))
		all = append(all, s)
	}
	for _, e := range f.Echoed() {
		named[e] = "an echoed credential"
		all = append(all, e)
	}
	for _, tok := range f.IssuedTokens() {
		parts := strings.Split(tok, ".")
		named[tok], named[parts[1]], named[parts[2]] = "a token", "a token's payload", "a token's signature"
		all = append(all, tok, parts[1], parts[2])
	}
	for _, v := range all {
		if len(v) < 6 {
			t.Fatalf("%s is too short to search for", named[v])
		}
		for form, enc := range leakForms(v) {
			if strings.Contains(out, enc) {
				t.Errorf("output holds %s (length %d), %s", named[v], len(v), form)
			}
		}
	}
}

// echoRun runs azexec at trace level in both log formats and checks its
// output. The echo must have happened and reached the log: otherwise the
// search proves nothing.
func echoRun(t *testing.T, f *fake, env []string, stdin string, secrets []string, wantCode int, args ...string) {
	t.Helper()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			before := len(f.Echoed())
			stdout, stderr, code := runAzexec(t, env, stdin, append([]string{"--log-level", "trace", "--log-format", format}, args...)...)
			if code != wantCode {
				t.Errorf("status %d, want %d", code, wantCode)
			}
			if len(f.Echoed()) == before {
				t.Fatalf("the fake echoed nothing: the attack did not happen")
			}
			if !strings.Contains(stderr, "EchoedRequest") {
				t.Errorf("the echoed body never reached the log: the search proves nothing")
			}
			if !strings.Contains(stderr, "[redacted]") {
				t.Errorf("nothing was redacted: the echo cannot have been logged")
			}
			if strings.Contains(stderr, fakeazure.EchoTail) {
				// The echo's tail lies far beyond the first 512 bytes.
				t.Errorf("the echoed body was not cut to 512 bytes")
			}
			if format == "json" && !strings.HasPrefix(stderr, "{") {
				t.Errorf("--log-format json: stderr does not start with a JSON object")
			}
			checkNoLeak(t, f, stdout+stderr, secrets)
		})
	}
}

// TestEchoingTokenEndpoint: the token endpoint answers 400 or 401 with the
// whole request form (client_secret or client_assertion URL-encoded, the
// form again in lower-case hex, JSON-escaped, \u-escaped, JSON in JSON) in
// its error_description. Authentication fails (exit 3); nothing echoed
// may show.
func TestEchoingTokenEndpoint(t *testing.T) {
	t.Parallel()
	type identity struct {
		env     []string
		args    []string
		secrets []string
	}
	identities := map[string]func(t *testing.T, f *fake) identity{
		"client_secret": func(t *testing.T, f *fake) identity {
			p := f.newSP()
			p.secret = echoSecret()
			f.AddServicePrincipal(p.tenant, p.client, p.secret)
			return identity{env: f.env(p.env()...), secrets: []string{p.secret}}
		},
		"client_secret_with_keyring": func(t *testing.T, f *fake) identity {
			p := f.newSP()
			p.secret = echoSecret()
			f.AddServicePrincipal(p.tenant, p.client, p.secret)
			pass := "keyring-" + randomHex(8) + "+/="
			env := f.env(append(p.env(), "AZEXEC_KEYRING_PASSWORD="+pass)...)
			return identity{env: env, args: []string{"--keyring-backend", "file"}, secrets: []string{p.secret, pass}}
		},
		"certificate": func(t *testing.T, f *fake) identity {
			p, cc := f.newCertSP(t)
			env := f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_ID="+p.client,
				"AZURE_CLIENT_CERTIFICATE_PATH="+cc.PFXFile, "AZURE_CLIENT_CERTIFICATE_PASSWORD="+cc.Password)
			return identity{env: env, secrets: []string{cc.Password}}
		},
		"workload": func(t *testing.T, f *fake) identity {
			tenant, client, assertion := newUUID(), newUUID(), "e2e-federated-"+randomHex(24)
			f.AddFederated(tenant, client, assertion)
			file := f.writeFile(t, "token", assertion)
			env := f.env("AZURE_TENANT_ID="+tenant, "AZURE_CLIENT_ID="+client, "AZURE_FEDERATED_TOKEN_FILE="+file)
			return identity{env: env, secrets: []string{assertion}}
		},
	}
	for name, setup := range identities {
		for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized} {
			for cname, command := range map[string][]string{"whoami": {"whoami"}, "wrapper": wrap(nil, "true")} {
				t.Run(name+"/"+http.StatusText(status)+"/"+cname, func(t *testing.T) {
					t.Parallel()
					f := startFake(t)
					id := setup(t, f)
					f.AddEcho(fakeazure.Echo{Kind: fakeazure.KindToken, Status: status})
					echoRun(t, f, id.env, "", id.secrets, 3, append(append([]string(nil), id.args...), command...)...)
				})
			}
		}
	}
}

// TestEchoingKeyVault: the identity is proved, then the vault answers the
// request for a Key Vault reference with 500 (retried) or 403, echoing
// the request's Authorization header in one encoding per run (a token is
// longer than the 512 bytes of a body azexec shows, so each encoding
// gets a run of its own). The Key Vault token is obtained inside the Key
// Vault client's own credential; it must be masked all the same.
func TestEchoingKeyVault(t *testing.T) {
	t.Parallel()
	type run struct {
		status   int
		encoding string
	}
	runs := []run{{http.StatusInternalServerError, "plain"}}
	for _, enc := range fakeazure.EchoEncodings {
		runs = append(runs, run{http.StatusForbidden, enc})
	}
	for _, r := range runs {
		t.Run(http.StatusText(r.status)+"/"+r.encoding, func(t *testing.T) {
			t.Parallel()
			f := startFake(t)
			p := f.homeSP()
			p.secret = echoSecret()
			f.AddServicePrincipal(p.tenant, p.client, p.secret)
			host := f.vaultHost(t, "kv-echo")
			value := "db-" + randomHex(12)
			f.setSecret(t, "kv-echo", "db", "", value)
			f.AddEcho(fakeazure.Echo{Kind: fakeazure.KindKV, Status: r.status, Encodings: []string{r.encoding}})
			env := kvEnv(f, p, "DB_PASSWORD=keyvault://"+host+"/db", consent(host))
			echoRun(t, f, env, "", []string{p.secret, value}, 4, wrap(nil, "true")...)
			issued := f.IssuedTokens()
			vaultTokens := 0
			for _, tok := range f.Echoed() {
				if slices.Contains(issued, tok) {
					vaultTokens++
				}
			}
			if vaultTokens == 0 {
				t.Errorf("the vault echoed no token the fake issued")
			}
		})
	}
}

// TestEchoingIdentityEndpoint: an App Service managed identity endpoint
// answers with X-IDENTITY-HEADER echoed. The header is the endpoint's
// secret; it must be masked.
func TestEchoingIdentityEndpoint(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.AddEcho(fakeazure.Echo{Kind: fakeazure.KindMI, Status: http.StatusBadRequest})
	env := f.env("IDENTITY_ENDPOINT="+f.MIEndpoint(), "IDENTITY_HEADER="+f.MIHeader)
	echoRun(t, f, env, "", []string{f.MIHeader}, 3, "--identity", "managed", "whoami")
}

// TestEchoingRegistry: a container registry answers the token exchange
// with 401, echoing the form, Entra access token included, in one
// encoding per run. docker shows a helper's stdout, where azexec's error
// goes too: neither stream may hold it.
func TestEchoingRegistry(t *testing.T) {
	t.Parallel()
	for _, enc := range fakeazure.EchoEncodings {
		t.Run(enc, func(t *testing.T) {
			t.Parallel()
			f := startFake(t)
			p := f.newSP()
			p.secret = echoSecret()
			f.AddServicePrincipal(p.tenant, p.client, p.secret)
			host, err := f.AddRegistry("echoreg")
			if err != nil {
				t.Fatal(err)
			}
			f.AddEcho(fakeazure.Echo{Kind: fakeazure.KindACR, Status: http.StatusUnauthorized, Encodings: []string{enc}})
			env := f.env(append(p.env(), "AZEXEC_ACR_HOSTS="+host)...)
			echoRun(t, f, env, host, []string{p.secret}, 4, "docker-credential", "get")
		})
	}
}
