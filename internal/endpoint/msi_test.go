package endpoint

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// post sends a Cloud Shell request: form to url with the given headers.
func post(t testing.TB, u, form string, headers map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

var cloudShellHeaders = map[string]string{"Metadata": "true", "Content-Type": "application/x-www-form-urlencoded"}

// TestMSIEndpointForms: the Cloud Shell POST and the 2017-09-01 GET are
// served at MSI_ENDPOINT's secret path only, with the checks of the
// App Service form.
func TestMSIEndpointForms(t *testing.T) {
	e, cred := startTestEndpoint(t, "https://vault.azure.net/.default")
	msi := e.base + e.msiPath
	ok := "resource=https://vault.azure.net"
	cases := []struct {
		name    string
		method  string
		url     string
		body    string
		headers map[string]string
		want    int
	}{
		{"cloud shell", "POST", msi, ok, cloudShellHeaders, 200},
		{"cloud shell, trailing slash", "POST", msi + "/", ok, cloudShellHeaders, 200},
		{"cloud shell, no metadata", "POST", msi, ok, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400},
		{"cloud shell, json body", "POST", msi, `{"resource":"https://vault.azure.net"}`, map[string]string{"Metadata": "true", "Content-Type": "application/json"}, 415},
		{"cloud shell, query beside the form", "POST", msi + "?resource=https://management.azure.com", ok, cloudShellHeaders, 400},
		{"cloud shell, outside allow list", "POST", msi, "resource=https://management.azure.com", cloudShellHeaders, 403},
		{"cloud shell, other client", "POST", msi, ok + "&client_id=11111111-2222-4333-8444-555555555555", cloudShellHeaders, 400},
		{"cloud shell, resource id", "POST", msi, ok + "&mi_res_id=/subscriptions/x", cloudShellHeaders, 400},
		{"cloud shell, no secret path", "POST", e.base + "/msi/", ok, cloudShellHeaders, 404},
		{"cloud shell, root", "POST", e.base + "/", ok, cloudShellHeaders, 404},
		{"cloud shell, path one short", "POST", msi[:len(msi)-1], ok, cloudShellHeaders, 404},
		{"cloud shell, path upper case", "POST", e.base + strings.ToUpper(e.msiPath), ok, cloudShellHeaders, 404},
		{"cloud shell, header as path", "POST", e.base + msiPrefix + e.header(), ok, cloudShellHeaders, 404},
		{"cloud shell, app service path", "POST", e.URL(), ok, cloudShellHeaders, 401},
		{"legacy", "GET", msi + "/?api-version=2017-09-01&" + ok, "", map[string]string{"secret": e.header()}, 200},
		{"legacy, no slash", "GET", msi + "?api-version=2017-09-01&" + ok, "", map[string]string{"Secret": e.header()}, 200},
		{"legacy, own clientid", "GET", msi + "?api-version=2017-09-01&clientid=CID&" + ok, "", map[string]string{"secret": e.header()}, 200},
		{"legacy, other clientid", "GET", msi + "?api-version=2017-09-01&clientid=x&" + ok, "", map[string]string{"secret": e.header()}, 400},
		{"legacy, no secret", "GET", msi + "/?api-version=2017-09-01&" + ok, "", nil, 401},
		{"legacy, wrong secret", "GET", msi + "/?api-version=2017-09-01&" + ok, "", map[string]string{"secret": strings.Repeat("0", 64)}, 401},
		{"legacy, app service header only", "GET", msi + "/?api-version=2017-09-01&" + ok, "", map[string]string{"X-IDENTITY-HEADER": e.header()}, 401},
		{"legacy, 2019 version", "GET", msi + "/?api-version=2019-08-01&" + ok, "", map[string]string{"secret": e.header()}, 400},
		{"legacy, no secret path", "GET", e.base + "/?api-version=2017-09-01&" + ok, "", map[string]string{"secret": e.header()}, 404},
		{"put", "PUT", msi, ok, cloudShellHeaders, 405},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		status, body := do(t, req)
		if status != tc.want {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, status, tc.want, body)
		}
		_, has := body["access_token"]
		if has != (status == 200) {
			t.Errorf("%s: status %d, token in the reply: %v", tc.name, status, has)
		}
		if status == 200 && (body["token_type"] != "Bearer" || body["resource"] != "https://vault.azure.net" || body["expires_on"] == "") {
			t.Errorf("%s: reply %v lacks what clients read", tc.name, body)
		}
	}
	if n := cred.calls.Load(); n != 1 {
		t.Errorf("credential asked %d times, want 1 (one scope served, then cached)", n)
	}
}

// TestHostHeaderPinned performs DNS rebinding: a request whose Host names
// another site (as a browser sends after rebinding that site's name to
// this address) gets 421 and no token, even with the right secret.
func TestHostHeaderPinned(t *testing.T) {
	e, _ := startServer(t, Options{Credential: &countingCred{}, Advertise: "Host.Docker.Internal"})
	// Dial the listener; the Host header says which name the client used.
	ok := "http://" + e.opts.Listener.Addr().String() + appServicePath + "?api-version=2019-08-01&resource=https://vault.azure.net"
	for host, want := range map[string]int{
		"attacker.example":             421,
		"attacker.example:80":          421,
		"127.0.0.1.attacker.example":   421,
		"host.docker.internal.example": 421,
		"host.docker.internal":         200,
		"HOST.docker.internal:1234":    200,
		"127.0.0.1":                    200,
		"localhost":                    200,
	} {
		req, _ := http.NewRequest(http.MethodGet, ok, nil)
		req.Host = host
		req.Header.Set("X-IDENTITY-HEADER", e.header())
		status, body := do(t, req)
		if status != want {
			t.Errorf("Host %q: status %d, want %d (%v)", host, status, want, body)
		}
	}
	if u, _ := url.Parse(e.URL()); u.Hostname() != "host.docker.internal" {
		t.Errorf("IDENTITY_ENDPOINT %s does not name the advertised host", e.URL())
	}
}

// FuzzParseMSIRequest: no input panics the MSI_ENDPOINT parser, and an
// accepted request has a canonical resource that is its only resource
// parameter, read from the form body for POST and the query for GET.
func FuzzParseMSIRequest(f *testing.F) {
	f.Add("POST", "", "application/x-www-form-urlencoded", "true", "resource=https://vault.azure.net")
	f.Add("GET", "api-version=2017-09-01&resource=https://vault.azure.net&clientid=x", "", "", "")
	f.Add("POST", "resource=x", "application/x-www-form-urlencoded; charset=utf-8", "TRUE", "resource=%00")
	f.Fuzz(func(t *testing.T, method, rawQuery, contentType, metadata, body string) {
		fm, r, err := parseMSIRequest(method, rawQuery, contentType, metadata, body)
		if err != nil {
			return
		}
		src := rawQuery
		if fm == formCloudShell {
			src = body
			if method != "POST" || rawQuery != "" {
				t.Fatalf("accepted a Cloud Shell request %q with query %q", method, rawQuery)
			}
		} else if method != "GET" {
			t.Fatalf("accepted method %q", method)
		}
		q, qerr := url.ParseQuery(src)
		if qerr != nil || len(q["resource"]) != 1 || q["resource"][0] != r.resource {
			t.Fatalf("accepted %q %q %q", method, rawQuery, body)
		}
		if c, err := CanonicalResource(r.resource); err != nil || c != r.resource {
			t.Fatalf("accepted resource %q is not canonical (%v)", r.resource, err)
		}
	})
}

// TestAdvertiseIPv6: an IPv6 address advertised with or without brackets
// makes one well-formed URL.
func TestAdvertiseIPv6(t *testing.T) {
	for _, adv := range []string{"::1", "[::1]"} {
		e, err := startServer(t, Options{Credential: &countingCred{}, Advertise: adv})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(e.URL())
		if err != nil || u.Hostname() != "::1" || !strings.HasPrefix(e.URL(), "http://[::1]:") {
			t.Errorf("--advertise %s: URL %s", adv, e.URL())
		}
	}
}
