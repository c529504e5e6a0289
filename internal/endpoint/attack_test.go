package endpoint

import (
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/azexec/azexec/internal/fail"
)

// resourceVariants are spellings of an allowed resource (Key Vault's) that
// a lax check would take for it while Entra ID, or a credential on the
// way, might read them as something else. Each must be refused with 400.
var resourceVariants = map[string]string{
	"trailing NBSP":                 "https://vault.azure.net\u00a0",
	"leading NBSP":                  "\u00a0https://vault.azure.net",
	"trailing space":                "https://vault.azure.net ",
	"leading space":                 " https://vault.azure.net",
	"trailing tab":                  "https://vault.azure.net\t",
	"trailing newline":              "https://vault.azure.net\n",
	"trailing CR":                   "https://vault.azure.net\r",
	"trailing NUL":                  "https://vault.azure.net\x00",
	"embedded NBSP":                 "https://vault\u00a0.azure.net",
	"embedded NEL":                  "https://vault.azure.net\u0085",
	"line separator":                "https://vault.azure.net\u2028",
	"ideographic space":             "https://vault.azure.net\u3000",
	"zero-width space":              "https://vault.azure.net\u200b",
	"BOM":                           "\ufeffhttps://vault.azure.net",
	"DEL":                           "https://vault.azure.net\x7f",
	"escape":                        "https://vault.azure.net\x1b",
	"fullwidth letter":              "https://vault.azure.ｎet",
	"Cyrillic a":                    "https://v\u0430ult.azure.net",
	"upper-case host":               "https://VAULT.azure.net",
	"upper-case scheme":             "HTTPS://vault.azure.net",
	"trailing dot":                  "https://vault.azure.net.",
	"port":                          "https://vault.azure.net:443",
	"user":                          "https://x@vault.azure.net",
	"user, other host":              "https://vault.azure.net@evil.example",
	"percent escape":                "https://vault.azure.net%20",
	"encoded slash":                 "https://vault.azure.net%2F",
	"query":                         "https://vault.azure.net?x",
	"fragment":                      "https://vault.azure.net#x",
	"backslash":                     "https://vault.azure.net\\",
	"quote":                         "https://vault.azure.net\"",
	"scope form":                    "https://vault.azure.net/.default",
	"scope form, slash":             "https://vault.azure.net//.default",
	"scope form, upper case":        "https://vault.azure.net/.DEFAULT",
	"two trailing slashes":          "https://vault.azure.net//",
	"dot segment":                   "https://vault.azure.net/.",
	"dot-dot segment":               "https://vault.azure.net/x/..",
	"no scheme":                     "vault.azure.net",
	"scheme only":                   "https://",
	"upper-case application ID":     "CFA8B339-82A2-471A-A3C9-0FC0BE7A4093",
	"application ID with NBSP":      "cfa8b339-82a2-471a-a3c9-0fc0be7a4093\u00a0",
	"application ID with braces":    "{cfa8b339-82a2-471a-a3c9-0fc0be7a4093}",
	"whitespace-only":               " ",
	"combining mark after the host": "https://vault.azure.net\u0301",
}

// TestEndpointRefusesResourceVariants performs the allow-list bypass:
// `resource=https://vault.azure.net%C2%A0` and its relatives, with
// --allow-scope keyvault, and without any allow list. Each must get 400
// and no token be fetched; if a variant got through, the credential would
// have been asked for a scope other than the one checked.
func TestEndpointRefusesResourceVariants(t *testing.T) {
	for _, allow := range [][]string{{"https://vault.azure.net/.default"}, nil} {
		e, cred := startTestEndpoint(t, allow...)
		for name, res := range resourceVariants {
			status, body := get(t, e, e.header(), "api-version=2019-08-01&resource="+url.QueryEscape(res))
			if status != 400 {
				t.Errorf("allow %v, %s (%q): status %d, want 400 (%v)", allow, name, res, status, body)
			}
			if _, has := body["access_token"]; has {
				t.Errorf("allow %v, %s: got a token", allow, name)
			}
			msg, _ := body["message"].(string)
			if msg == "" || len(strings.TrimSpace(res)) > 8 && strings.Contains(msg, strings.TrimSpace(res)) {
				t.Errorf("allow %v, %s: message %q should explain without quoting the resource", allow, name, msg)
			}
		}
		if n := cred.calls.Load(); n != 0 {
			t.Errorf("allow %v: credential asked %d times for refused resources: %q", allow, n, cred.scopes)
		}
	}
}

// TestEndpointRequestsWhatItChecks: an allowed resource, with or without
// one trailing slash, is asked for exactly as sent, and the reply names it
// as sent; a resource outside the list gets 403 and no token.
func TestEndpointRequestsWhatItChecks(t *testing.T) {
	e, cred := startTestEndpoint(t, "https://vault.azure.net/.default", "https://management.core.windows.net/")
	cases := []struct {
		resource string
		status   int
		scope    string
	}{
		{"https://vault.azure.net", 200, "https://vault.azure.net/.default"},
		{"https://vault.azure.net/", 200, "https://vault.azure.net//.default"},
		{"https://management.core.windows.net/", 200, "https://management.core.windows.net//.default"},
		{"https://management.core.windows.net", 200, "https://management.core.windows.net/.default"},
		{"https://vault.azure.net/x", 403, ""},
		{"https://vault.azure.net.evil.example", 403, ""},
		{"https://management.azure.com", 403, ""},
		{"https://vault.azure.cn", 403, ""},
		{"api://vault.azure.net", 403, ""},
	}
	for _, tc := range cases {
		before := cred.calls.Load()
		status, body := get(t, e, e.header(), "api-version=2019-08-01&resource="+url.QueryEscape(tc.resource))
		if status != tc.status {
			t.Errorf("%q: status %d, want %d (%v)", tc.resource, status, tc.status, body)
			continue
		}
		if status != 200 {
			if cred.calls.Load() != before {
				t.Errorf("%q: refused, but a token was fetched", tc.resource)
			}
			continue
		}
		if body["access_token"] != "tok-for-"+tc.scope || body["resource"] != tc.resource {
			t.Errorf("%q: asked for %v, reply resource %v; want scope %q and the resource as sent", tc.resource, body["access_token"], body["resource"], tc.scope)
		}
	}
}

// TestEndpointRefusesOtherIdentities asks for tokens of identities other
// than the one azexec serves, by each selector the managed identity
// protocols know. Today's bug: principal_id naming another identity was
// ignored and the token of azexec's identity issued anyway.
func TestEndpointRefusesOtherIdentities(t *testing.T) {
	const own = "0b5f3b4c-0000-4000-8000-00000000c1d0"
	const ownObject = "7e2a9d11-0000-4000-8000-0000000000b1"
	const other = "11111111-2222-4333-8444-555555555555"
	ok := "api-version=2019-08-01&resource=https://vault.azure.net"
	refused := []string{
		"client_id=" + other,
		"object_id=" + other,
		"principal_id=" + other,
		"mi_res_id=/subscriptions/x/resourcegroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z",
		"msi_res_id=/subscriptions/x/resourcegroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z",
		"client_id=",
		"object_id=",
		"principal_id=",
		"mi_res_id=",
		"msi_res_id=",
		"client_id=" + ownObject,   // the object id is not the client id
		"principal_id=" + own,      // nor the other way round
		"client_id=" + own + "%20", // a trailing space is another value
		"client_id=%20" + own,      // so is a leading one
		"client_id=" + own + "%00", // and a NUL
		"client_id=" + own + "&client_id=" + other,
		"client_id=" + other + "&client_id=" + own,
		"client_id=" + own + "&principal_id=" + other,
		"object_id=" + ownObject + "&principal_id=" + other,
		"principal_id=" + other + "&object_id=" + ownObject,
		"Client_Id=" + other, // Azure reads names without regard to case
		"PRINCIPAL_ID=" + other,
		"Mi_Res_Id=/subscriptions/x",
		"Resource=https://management.azure.com",
		"resource=https://management.azure.com", // a second resource
		"api-version=2019-08-01",                // a second api-version
	}
	cred := &countingCred{}
	e, err := startServer(t, Options{Credential: cred, ClientID: own, ObjectID: ownObject})
	if err != nil {
		t.Fatal(err)
	}
	for _, sel := range refused {
		status, body := get(t, e, e.header(), ok+"&"+sel)
		if status != 400 {
			t.Errorf("%s: status %d, want 400 (%v)", sel, status, body)
		}
	}
	if n := cred.calls.Load(); n != 0 {
		t.Fatalf("credential asked %d times for other identities", n)
	}
	served := []string{
		"client_id=" + own,
		"client_id=" + strings.ToUpper(own),
		"object_id=" + ownObject,
		"principal_id=" + ownObject,
		"principal_id=" + strings.ToUpper(ownObject),
		"client_id=" + own + "&object_id=" + ownObject + "&principal_id=" + ownObject,
		"unrelated=1",
	}
	for _, sel := range served {
		if status, body := get(t, e, e.header(), ok+"&"+sel); status != 200 {
			t.Errorf("%s: status %d, want 200 (%v)", sel, status, body)
		}
	}
}

// TestEndpointUnknownIDsMatchNothing: when azexec does not know its
// identity's object id (or client id), no object_id or principal_id (or
// client_id) can name it, not even an empty one.
func TestEndpointUnknownIDsMatchNothing(t *testing.T) {
	cred := &countingCred{}
	e, err := startServer(t, Options{Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{"client_id=", "object_id=", "principal_id=", "client_id=x", "object_id=x"} {
		if status, _ := get(t, e, e.header(), "api-version=2019-08-01&resource=https://vault.azure.net&"+sel); status != 400 {
			t.Errorf("%s: status %d, want 400", sel, status)
		}
	}
	if cred.calls.Load() != 0 {
		t.Error("a token was fetched")
	}
}

// TestEndpointRefusesMalformedQueries: a query that url.URL.Query would
// read with pairs dropped is refused, not half-read.
func TestEndpointRefusesMalformedQueries(t *testing.T) {
	e, cred := startTestEndpoint(t, "https://vault.azure.net/.default")
	for _, q := range []string{
		"api-version=2019-08-01&resource=https://vault.azure.net&client_id=%zz",
		"api-version=2019-08-01&resource=https://vault.azure.net;client_id=other",
		"api-version=2019-08-01&resource=%zzhttps://vault.azure.net",
		"api-version=2019-08-01",
		"api-version=2019-08-01&resource=",
	} {
		if status, _ := get(t, e, e.header(), q); status != 400 {
			t.Errorf("%s: status %d, want 400", q, status)
		}
	}
	if cred.calls.Load() != 0 {
		t.Error("a token was fetched")
	}
}

// TestSameIDIsASCIIOnly: strings.EqualFold would take U+212A KELVIN SIGN
// for 'k' and U+017F LONG S for 's'; an identity selector must not.
func TestSameIDIsASCIIOnly(t *testing.T) {
	if sameID("\u212a\u017f", "ks") || sameID("\u212a", "k") {
		t.Error("a Unicode case fold matched an ASCII id")
	}
	if !sameID("AB-cd", "ab-CD") {
		t.Error("ASCII case should not matter")
	}
	if sameID("", "") {
		t.Error("an unknown id matched an empty selector")
	}
}

// TestAllowScopeMustBeCanonical: an --allow-scope entry that is not
// canonical fails StartEndpoint (a usage error) instead of being matched
// loosely.
func TestAllowScopeMustBeCanonical(t *testing.T) {
	for _, bad := range []string{"https://Vault.azure.net/.default", "https://vault.azure.net\u00a0/.default", "https://vault.azure.net///.default", "https://vault.azure.net:443", ""} {
		_, err := startServer(t, Options{Credential: &countingCred{}, AllowResources: []string{bad}})
		if fail.KindOf(err) != fail.Usage {
			t.Errorf("%q: error %v, want a usage error", bad, err)
		}
	}
}

// TestCanonicalResource lists accepted resources, and checks that every
// variant above is refused by the function itself.
func TestCanonicalResource(t *testing.T) {
	for _, good := range []string{
		"https://vault.azure.net", "https://vault.azure.net/", "https://management.core.windows.net/",
		"https://storage.azure.com/", "https://ossrdbms-aad.database.windows.net", "api://0b5f3b4c-0000-4000-8000-00000000c1d0",
		"https://contoso.example/api/v1", "https://contoso.example/api/v1/", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
		"https://x/a:b_c~d.e",
	} {
		if got, err := CanonicalResource(good); err != nil || got != good {
			t.Errorf("%q: %q, %v; want it accepted unchanged", good, got, err)
		}
	}
	for name, bad := range resourceVariants {
		if _, err := CanonicalResource(bad); err == nil {
			t.Errorf("%s (%q) accepted", name, bad)
		}
	}
	if _, err := CanonicalResource(strings.Repeat("a", 600)); err == nil {
		t.Error("a 600-byte resource was accepted")
	}
}

// FuzzCanonicalResource: CanonicalResource never rewrites (what it accepts
// comes back unchanged), and what it accepts is exactly what url.Parse and
// a strict reading agree on: ASCII without space or control characters,
// lower-case scheme and host, no port, user, query or fragment, no
// /.default, and no variant of it (more white space, another case of the
// host, a second trailing slash, /.default) is also accepted.
func FuzzCanonicalResource(f *testing.F) {
	for _, s := range []string{"https://vault.azure.net", "https://management.core.windows.net/", "api://x/y",
		"cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "https://vault.azure.net\u00a0", "HTTPS://x", "https://x:1", "https://x/./y"} {
		f.Add(s)
	}
	for _, s := range resourceVariants {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CanonicalResource(s)
		if err != nil {
			if got != "" {
				t.Fatalf("refused %q but returned %q", s, got)
			}
			if _, ok := err.(*resourceError); !ok {
				t.Fatalf("error %T, want a fixed reason", err)
			}
			return
		}
		if got != s {
			t.Fatalf("rewrote %q to %q", s, got)
		}
		if s == "" || len(s) > maxResourceLen {
			t.Fatalf("accepted length %d", len(s))
		}
		for _, r := range s {
			if r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("%?#@\\\"'<> ", r) {
				t.Fatalf("accepted %q with %q", s, r)
			}
		}
		if strings.HasSuffix(strings.TrimSuffix(s, "/"), "/.default") || strings.HasSuffix(s, "//") {
			t.Fatalf("accepted the scope or slash variant %q", s)
		}
		if strings.Contains(s, "://") {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatalf("accepted %q, which url.Parse refuses: %v", s, err)
			}
			if u.Scheme != strings.ToLower(u.Scheme) || u.Host != strings.ToLower(u.Host) || u.Host == "" || u.Port() != "" ||
				u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || u.Scheme+"://"+u.Host+u.Path != s {
				t.Fatalf("accepted %q, which url.Parse reads as %#v", s, u)
			}
			if strings.HasSuffix(u.Host, ".") {
				t.Fatalf("accepted a trailing dot: %q", s)
			}
		} else if !isGUID(s) {
			t.Fatalf("accepted %q, neither a URL nor an application ID", s)
		}
		for _, v := range []string{s + " ", " " + s, s + "\u00a0", s + "\t", strings.ToUpper(s[:1]) + s[1:], s + "//", s + "/.default",
			strings.TrimSuffix(s, "/") + "/.default", s + "\x00", s + "%20"} {
			if v == s {
				continue
			}
			if _, err := CanonicalResource(v); err == nil {
				t.Fatalf("accepted %q and its variant %q", s, v)
			}
		}
		if a, err := AllowedResource(s + "/.default"); err != nil || a != s {
			t.Fatalf("allowing %q/.default gives %q, %v", s, a, err)
		}
	})
}
