package fakeazure_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/azexec/azexec/tests/fakeazure"
)

const (
	testClient = "0b5c2d8e-1f3a-4b6c-9d7e-8f0a1b2c3d4e"
	testSecret = "s3cret-value-for-tests"
	vaultScope = "https://vault.azure.net/.default"
	armScope   = "https://management.azure.com//.default"
)

func start(t *testing.T, opts fakeazure.Options) *fakeazure.Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	srv, err := fakeazure.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func clientOptions(srv *fakeazure.Server) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
		Transport: srv.Client(),
		Retry:     policy.RetryOptions{MaxRetryDelay: 2 * time.Second},
	}
}

func secretCred(t *testing.T, srv *fakeazure.Server, tenant, client, secret string) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, client, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            clientOptions(srv),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func getToken(t *testing.T, cred azcore.TokenCredential, scope string) (azcore.AccessToken, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
}

type tokenClaims struct {
	Aud   string `json:"aud"`
	Iss   string `json:"iss"`
	Tid   string `json:"tid"`
	Oid   string `json:"oid"`
	Appid string `json:"appid"`
	Azp   string `json:"azp"`
	Sub   string `json:"sub"`
	Iat   int64  `json:"iat"`
	Nbf   int64  `json:"nbf"`
	Exp   int64  `json:"exp"`
	Jti   string `json:"jti"`
}

func decode(t *testing.T, tok string) tokenClaims {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkClaims(t *testing.T, srv *fakeazure.Server, tok, tenant, client, aud string) {
	t.Helper()
	c := decode(t, tok)
	oid := fakeazure.ObjectID(tenant, client)
	if c.Aud != aud || c.Tid != tenant || c.Appid != client || c.Azp != client || c.Oid != oid || c.Sub != oid {
		t.Errorf("claims %+v; want aud %s tid %s appid %s oid %s", c, aud, tenant, client, oid)
	}
	if c.Iss != srv.URL+"/"+tenant+"/v2.0" {
		t.Errorf("iss %q", c.Iss)
	}
	now := time.Now().Unix()
	if c.Iat > now+1 || c.Nbf > now+1 || c.Exp < now+3000 || c.Jti == "" {
		t.Errorf("times or jti wrong: %+v (now %d)", c, now)
	}
	found := false
	for _, it := range srv.IssuedTokens() {
		found = found || it == tok
	}
	if !found {
		t.Error("token not in IssuedTokens")
	}
}

func TestClientSecret(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	srv.AddServicePrincipal(tenant, testClient, testSecret)
	cred := secretCred(t, srv, tenant, testClient, testSecret)
	tok, err := getToken(t, cred, vaultScope)
	if err != nil {
		t.Fatal(err)
	}
	checkClaims(t, srv, tok.Token, tenant, testClient, "https://vault.azure.net")
	if d := time.Until(tok.ExpiresOn); d < 58*time.Minute || d > 61*time.Minute {
		t.Errorf("ExpiresOn in %v", d)
	}
	if n := srv.CountRequests(fakeazure.KindDiscovery); n != 1 {
		t.Errorf("%d discovery requests", n)
	}
	if n := srv.CountRequests(fakeazure.KindToken); n != 1 {
		t.Errorf("%d token requests", n)
	}
	// A second credential gets a different token (unique jti).
	tok2, err := getToken(t, secretCred(t, srv, tenant, testClient, testSecret), vaultScope)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.Token == tok.Token || decode(t, tok2.Token).Jti == decode(t, tok.Token).Jti {
		t.Error("tokens are not unique")
	}
	// The request log never holds the secret or a token.
	log := fmt.Sprintf("%+v", srv.Requests())
	if strings.Contains(log, testSecret) || strings.Contains(log, tok.Token) {
		t.Error("request log leaks a secret")
	}
}

func TestAuthorityViaLocalhost(t *testing.T) {
	// The certificate covers localhost too, and the issuer follows the
	// host the client used (MSAL checks that it matches the authority).
	srv := start(t, fakeazure.Options{})
	srv.AddServicePrincipal(srv.Tenant(), testClient, testSecret)
	opts := clientOptions(srv)
	opts.Cloud.ActiveDirectoryAuthorityHost = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/"
	cred, err := azidentity.NewClientSecretCredential(srv.Tenant(), testClient, testSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: opts, DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, cred, vaultScope); err != nil {
		t.Fatal(err)
	}
}

func TestTokenErrors(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	srv.AddServicePrincipal(tenant, testClient, testSecret)
	for _, tc := range []struct {
		name, tenant, client, secret, scope string
		want                                []string
	}{
		{"wrong secret", tenant, testClient, "wrong", vaultScope, []string{"AADSTS7000215", "invalid_client", "401", testClient}},
		{"unknown client", tenant, "11111111-2222-3333-4444-555555555555", testSecret, vaultScope, []string{"AADSTS700016", "unauthorized_client", "400"}},
		{"unknown tenant", "99999999-8888-7777-6666-555555555555", testClient, testSecret, vaultScope, []string{"AADSTS90002"}},
		{"scope without .default", tenant, testClient, testSecret, "https://vault.azure.net/user_impersonation", []string{"AADSTS1002012", "invalid_scope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := getToken(t, secretCred(t, srv, tc.tenant, tc.client, tc.secret), tc.scope)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			t.Logf("error: %v", err)
			var afe *azidentity.AuthenticationFailedError
			if !errors.As(err, &afe) {
				t.Errorf("error is %T, want AuthenticationFailedError", err)
			}
		})
	}
	if len(srv.IssuedTokens()) != 0 {
		t.Error("tokens issued despite errors")
	}
}

func TestTokenErrorShape(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	srv.AddServicePrincipal(srv.Tenant(), testClient, testSecret)
	resp, err := srv.Client().PostForm(srv.URL+"/"+srv.Tenant()+"/oauth2/v2.0/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_secret": {"nope"}, "scope": {vaultScope},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		Codes         []int  `json:"error_codes"`
		Timestamp     string `json:"timestamp"`
		TraceID       string `json:"trace_id"`
		CorrelationID string `json:"correlation_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	wantDesc := "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, " +
		"not the client secret ID, for a secret added to app '" + testClient + "'.\r\nTrace ID: " + body.TraceID
	if resp.StatusCode != 401 || body.Error != "invalid_client" || len(body.Codes) != 1 || body.Codes[0] != 7000215 ||
		!strings.HasPrefix(body.Description, wantDesc) || body.Timestamp == "" || body.CorrelationID == "" {
		t.Errorf("status %d body %+v", resp.StatusCode, body)
	}
}

func TestClientCertificate(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	dir := t.TempDir()
	cc, err := fakeazure.NewClientCertificate(dir, "sp", "pfx-password", 0)
	if err != nil {
		t.Fatal(err)
	}
	srv.AddCertificate(tenant, testClient, cc.Cert)

	for _, tc := range []struct {
		name, file, password string
	}{{"pem", cc.PEMFile, ""}, {"pfx", cc.PFXFile, cc.Password}} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var pw []byte
			if tc.password != "" {
				pw = []byte(tc.password)
			}
			certs, key, err := azidentity.ParseCertificates(data, pw)
			if err != nil {
				t.Fatal(err)
			}
			for _, sendChain := range []bool{false, true} {
				cred, err := azidentity.NewClientCertificateCredential(tenant, testClient, certs, key, &azidentity.ClientCertificateCredentialOptions{
					ClientOptions: clientOptions(srv), DisableInstanceDiscovery: true, SendCertificateChain: sendChain,
				})
				if err != nil {
					t.Fatal(err)
				}
				tok, err := getToken(t, cred, armScope)
				if err != nil {
					t.Fatal(err)
				}
				checkClaims(t, srv, tok.Token, tenant, testClient, "https://management.azure.com/")
			}
		})
	}

	t.Run("unregistered", func(t *testing.T) {
		other, err := fakeazure.NewClientCertificate(dir, "other", "x", 0)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := azidentity.NewClientCertificateCredential(tenant, testClient, []*x509.Certificate{other.Cert}, other.Key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: clientOptions(srv), DisableInstanceDiscovery: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = getToken(t, cred, armScope)
		if err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
			t.Fatalf("want AADSTS700027, got %v", err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		old, err := fakeazure.NewClientCertificate(dir, "old", "x", -time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		srv.AddCertificate(tenant, testClient, old.Cert)
		cred, err := azidentity.NewClientCertificateCredential(tenant, testClient, []*x509.Certificate{old.Cert}, old.Key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: clientOptions(srv), DisableInstanceDiscovery: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = getToken(t, cred, armScope)
		if err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("want expired-key error, got %v", err)
		}
	})
}

func TestWorkloadIdentity(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	assertion := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDp3b3JrbG9hZCJ9.c2ln"
	srv.AddFederated(tenant, testClient, assertion)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(assertion), 0o600); err != nil {
		t.Fatal(err)
	}
	newCred := func() *azidentity.WorkloadIdentityCredential {
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: clientOptions(srv), ClientID: testClient, TenantID: tenant, TokenFilePath: file,
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	tok, err := getToken(t, newCred(), vaultScope)
	if err != nil {
		t.Fatal(err)
	}
	checkClaims(t, srv, tok.Token, tenant, testClient, "https://vault.azure.net")

	if err := os.WriteFile(file, []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.c2ln"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = getToken(t, newCred(), vaultScope)
	if err == nil || !strings.Contains(err.Error(), "AADSTS70021") {
		t.Fatalf("want AADSTS70021, got %v", err)
	}
}

func TestManagedIdentityAppService(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	unsetEnv(t, "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT")
	t.Setenv("IDENTITY_ENDPOINT", srv.MIEndpoint())
	t.Setenv("IDENTITY_HEADER", srv.MIHeader)
	scope := uniqueResource("appservice") + "/.default"
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, cred, scope)
	if err != nil {
		t.Fatal(err)
	}
	checkClaims(t, srv, tok.Token, srv.Tenant(), srv.MIClientID(), strings.TrimSuffix(scope, "/.default"))
	if d := time.Until(tok.ExpiresOn); d < 58*time.Minute || d > 61*time.Minute {
		t.Errorf("ExpiresOn in %v", d)
	}
	if n := srv.CountRequests(fakeazure.KindMI); n != 1 {
		t.Errorf("%d MI requests", n)
	}

	// User-assigned, by client id.
	const uaClient = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	srv.AddUserAssignedIdentity(uaClient, "/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ua")
	ua, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: clientOptions(srv), ID: azidentity.ClientID(uaClient),
	})
	if err != nil {
		t.Fatal(err)
	}
	uaRes := uniqueResource("appservice-ua")
	tok, err = getToken(t, ua, uaRes+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	checkClaims(t, srv, tok.Token, srv.Tenant(), uaClient, uaRes)

	// An unknown user-assigned identity.
	bad, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: clientOptions(srv), ID: azidentity.ClientID("00000000-0000-0000-0000-00000000dead"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, bad, uniqueResource("appservice-bad")+"/.default"); err == nil || !strings.Contains(err.Error(), "Unable to load the proper Managed Identity") {
		t.Errorf("want identity error, got %v", err)
	}

	// The header is required.
	for _, h := range []string{"", "wrong"} {
		req, _ := http.NewRequest("GET", srv.MIEndpoint()+"?api-version=2019-08-01&resource=https://vault.azure.net", nil)
		if h != "" {
			req.Header.Set("X-IDENTITY-HEADER", h)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("header %q: status %d", h, resp.StatusCode)
		}
	}
}

func TestIMDSHandler(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	stop, err := srv.ServeIMDS(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	base := "http://" + ln.Addr().String() + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
	get := func(metadata bool) (int, map[string]any) {
		req, _ := http.NewRequest("GET", base, nil)
		if metadata {
			req.Header.Set("Metadata", "true")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, _ := get(false); code != http.StatusBadRequest {
		t.Errorf("without Metadata: %d", code)
	}
	code, m := get(true)
	if code != 200 {
		t.Fatalf("status %d %v", code, m)
	}
	for _, k := range []string{"access_token", "expires_in", "expires_on", "resource", "token_type", "client_id"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("%s missing or not a string: %v", k, m)
		}
	}
	checkClaims(t, srv, m["access_token"].(string), srv.Tenant(), srv.MIClientID(), "https://vault.azure.net")
	if n := srv.CountRequests(fakeazure.KindIMDS); n != 2 {
		t.Errorf("%d IMDS requests", n)
	}
	if _, err := srv.ServeIMDS("10.0.0.1:80"); err == nil {
		t.Error("ServeIMDS accepted a non-loopback address")
	}
}

// TestIMDSSDK serves IMDS at its real address, which only works (and is
// only done) inside a network namespace whose one interface is loopback,
// as /work/shared/offline makes: it adds 169.254.169.254 to lo.
func TestIMDSSDK(t *testing.T) {
	ifaces, err := net.Interfaces()
	if err != nil || len(ifaces) != 1 || ifaces[0].Flags&net.FlagLoopback == 0 {
		t.Skip("not in a loopback-only network namespace")
	}
	if out, err := exec.Command("ip", "addr", "add", "169.254.169.254/32", "dev", "lo").CombinedOutput(); err != nil && !strings.Contains(string(out), "File exists") {
		t.Skipf("cannot add the IMDS address: %v %s", err, out)
	}
	srv := start(t, fakeazure.Options{})
	stop, err := srv.ServeIMDS("169.254.169.254:80")
	if err != nil {
		t.Skipf("cannot serve IMDS: %v", err)
	}
	defer stop()
	unsetEnv(t, "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT",
		"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME",
		"AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS")
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	res := uniqueResource("imds")
	tok, err := getToken(t, cred, res+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	checkClaims(t, srv, tok.Token, srv.Tenant(), srv.MIClientID(), res)

	// Inside DefaultAzureCredential, the SDK first probes IMDS without the
	// Metadata header; the 400 it gets tells it IMDS is there.
	srv.Reset()
	// "prod": Environment and WorkloadIdentity are unavailable (nothing
	// configured), and managed identity in a chain probes first.
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "prod")
	dac, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	res = uniqueResource("imds-dac")
	tok, err = getToken(t, dac, res+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	checkClaims(t, srv, tok.Token, srv.Tenant(), srv.MIClientID(), res)
	var statuses []int
	for _, r := range srv.Requests() {
		statuses = append(statuses, r.Status)
	}
	if fmt.Sprint(statuses) != "[400 200]" {
		t.Errorf("IMDS statuses %v, want probe 400 then 200", statuses)
	}
}

func TestKeyVault(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	srv.AddServicePrincipal(tenant, testClient, testSecret)
	cred := secretCred(t, srv, tenant, testClient, testSecret)
	vaultURL, err := srv.AddVault("myvault")
	if err != nil {
		t.Fatal(err)
	}
	other, err := srv.AddVault("other")
	if err != nil {
		t.Fatal(err)
	}
	if other == vaultURL || srv.VaultURL("MyVault") != vaultURL {
		t.Fatalf("vault URLs %q %q", vaultURL, other)
	}
	if _, err := srv.AddVault("myvault"); err == nil {
		t.Error("duplicate vault accepted")
	}
	must(t, srv.SetSecret("myvault", "db-password", "v1", "old-value"))
	must(t, srv.SetSecret("myvault", "db-password", "v2", "new-value"))
	must(t, srv.SetSecret("myvault", "off", "", "x"))
	must(t, srv.DisableSecret("myvault", "off", ""))

	client, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{
		ClientOptions: clientOptions(srv), DisableChallengeResourceVerification: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := client.GetSecret(ctx, "db-password", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Value != "new-value" || resp.ID.Name() != "db-password" || resp.ID.Version() != "v2" || !*resp.Attributes.Enabled {
		t.Errorf("got %q %s", *resp.Value, *resp.ID)
	}
	resp, err = client.GetSecret(ctx, "DB-PASSWORD", "v1", nil)
	if err != nil || *resp.Value != "old-value" {
		t.Fatalf("versioned get: %v", err)
	}

	// The challenge flow: first request without a token gets 401.
	reqs := srv.Requests()
	var kv []int
	for _, r := range reqs {
		if r.Kind == fakeazure.KindKV {
			kv = append(kv, r.Status)
		}
	}
	if len(kv) != 3 || kv[0] != 401 || kv[1] != 200 || kv[2] != 200 {
		t.Errorf("kv statuses %v", kv)
	}

	checkErr := func(name, version string, status int, code, inMsg string) {
		t.Helper()
		_, err := client.GetSecret(ctx, name, version, nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != status || re.ErrorCode != code || !strings.Contains(err.Error(), inMsg) {
			t.Errorf("%s/%s: want %d %s, got %v", name, version, status, code, err)
		}
	}
	checkErr("missing", "", 404, "SecretNotFound", "missing was not found")
	checkErr("db-password", "v9", 404, "SecretNotFound", "db-password/v9")
	checkErr("off", "", 403, "Forbidden", "disabled secret")
	oid := fakeazure.ObjectID(tenant, testClient)
	must(t, srv.DenyAccess("myvault", oid))
	checkErr("db-password", "", 403, "Forbidden", oid)

	// Without DisableChallengeResourceVerification, the SDK refuses a
	// vault whose host is not under vault.azure.net, as it would in real life.
	strict, err := azsecrets.NewClient(other, cred, &azsecrets.ClientOptions{ClientOptions: clientOptions(srv)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.GetSecret(ctx, "x", "", nil); err == nil || !strings.Contains(err.Error(), "DisableChallengeResourceVerification") {
		t.Errorf("want challenge verification error, got %v", err)
	}
}

func TestKeyVaultRejectsForeignTokens(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	vaultURL, err := srv.AddVault("v")
	if err != nil {
		t.Fatal(err)
	}
	must(t, srv.SetSecret("v", "s", "", "x"))
	get := func(tok string) (int, string) {
		req, _ := http.NewRequest("GET", vaultURL+"/secrets/s?api-version=7.6", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate") + " " + string(b)
	}
	code, body := get("")
	want := fmt.Sprintf(`Bearer authorization="%s/%s", resource="https://vault.azure.net"`, srv.URL, srv.Tenant())
	if code != 401 || !strings.HasPrefix(body, want) {
		t.Errorf("no token: %d %s", code, body)
	}
	for name, tok := range map[string]string{
		"forged":       "eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL3ZhdWx0LmF6dXJlLm5ldCJ9.",
		"wrong aud":    srv.MintToken(srv.Tenant(), testClient, "https://management.azure.com/", 0),
		"wrong tenant": srv.MintToken("d1d2d3d4-0000-4000-8000-000000000000", testClient, "https://vault.azure.net", 0),
		"expired":      srv.MintToken(srv.Tenant(), testClient, "https://vault.azure.net", time.Millisecond),
	} {
		time.Sleep(2 * time.Millisecond)
		if code, body := get(tok); code != 401 {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	if code, body := get(srv.MintToken(srv.Tenant(), testClient, "https://vault.azure.net/.default", 0)); code != 200 {
		t.Errorf("minted token: %d %s", code, body)
	}
}

func armGet(t *testing.T, srv *fakeazure.Server, c *http.Client, path, tok string) (int, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestResourceManager(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	srv.AddServicePrincipal(tenant, testClient, testSecret)
	tok, err := getToken(t, secretCred(t, srv, tenant, testClient, testSecret), armScope)
	if err != nil {
		t.Fatal(err)
	}
	c := srv.Client()
	code, body, err := armGet(t, srv, c, "/subscriptions?api-version=2022-12-01", tok.Token)
	if err != nil || code != 200 || !strings.Contains(string(body), `"value":[]`) {
		t.Fatalf("empty list: %d %s %v", code, body, err)
	}
	srv.SetSubscriptions(fakeazure.ObjectID(tenant, testClient),
		fakeazure.Subscription{ID: "aaaaaaaa-0000-4000-8000-000000000001", DisplayName: "dev"},
		fakeazure.Subscription{ID: "aaaaaaaa-0000-4000-8000-000000000002", DisplayName: "elsewhere", TenantID: "another"},
	)
	code, body, err = armGet(t, srv, c, "/subscriptions?api-version=2022-12-01", tok.Token)
	if err != nil || code != 200 {
		t.Fatalf("%d %s %v", code, body, err)
	}
	var list struct {
		Value []struct {
			SubscriptionID, DisplayName, TenantID, State string
		}
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Value) != 1 || list.Value[0].SubscriptionID != "aaaaaaaa-0000-4000-8000-000000000001" ||
		list.Value[0].TenantID != tenant || list.Value[0].State != "Enabled" || list.Value[0].DisplayName != "dev" {
		t.Errorf("list %+v", list)
	}
	if code, body, _ := armGet(t, srv, c, "/subscriptions?api-version=2022-12-01", ""); code != 401 || !strings.Contains(string(body), "AuthenticationFailed") {
		t.Errorf("no token: %d %s", code, body)
	}
	kvTok := srv.MintToken(tenant, testClient, "https://vault.azure.net", 0)
	if code, body, _ := armGet(t, srv, c, "/subscriptions?api-version=2022-12-01", kvTok); code != 401 || !strings.Contains(string(body), "InvalidAuthenticationTokenAudience") {
		t.Errorf("wrong audience: %d %s", code, body)
	}
}

func TestFaultRetryAfter(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	srv.AddServicePrincipal(srv.Tenant(), testClient, testSecret)
	srv.AddFault(fakeazure.Fault{Kind: fakeazure.KindToken, Status: http.StatusTooManyRequests, RetryAfter: "1", Times: 1})
	begin := time.Now()
	tok, err := getToken(t, secretCred(t, srv, srv.Tenant(), testClient, testSecret), vaultScope)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 900*time.Millisecond {
		t.Errorf("Retry-After not honoured: took %v", d)
	}
	var statuses []int
	var faults []bool
	for _, r := range srv.Requests() {
		if r.Kind == fakeazure.KindToken {
			statuses = append(statuses, r.Status)
			faults = append(faults, r.Fault)
		}
	}
	if fmt.Sprint(statuses) != "[429 200]" || fmt.Sprint(faults) != "[true false]" {
		t.Errorf("token statuses %v faults %v", statuses, faults)
	}
	checkClaims(t, srv, tok.Token, srv.Tenant(), testClient, "https://vault.azure.net")
}

func TestFaultResetAndStatus(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tok := srv.MintToken(srv.Tenant(), testClient, armScope, 0)
	srv.AddFault(fakeazure.Fault{Kind: fakeazure.KindARM, Reset: true, Times: 1})
	srv.AddFault(fakeazure.Fault{Kind: fakeazure.KindARM, Status: 503, Times: 2})
	if _, _, err := armGet(t, srv, srv.Client(), "/subscriptions?api-version=1", tok); err == nil {
		t.Error("reset fault: no error")
	}
	for i := 0; i < 2; i++ {
		if code, _, err := armGet(t, srv, srv.Client(), "/subscriptions?api-version=1", tok); err != nil || code != 503 {
			t.Errorf("status fault: %d %v", code, err)
		}
	}
	if code, _, err := armGet(t, srv, srv.Client(), "/subscriptions?api-version=1", tok); err != nil || code != 200 {
		t.Errorf("after faults: %d %v", code, err)
	}
	reqs := srv.Requests()
	if len(reqs) != 4 || reqs[0].Status != 0 || !reqs[0].Fault || reqs[3].Fault {
		t.Errorf("log %+v", reqs)
	}
	// A fault for another kind does not apply.
	srv.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Status: 500})
	if code, _, _ := armGet(t, srv, srv.Client(), "/subscriptions?api-version=1", tok); code != 200 {
		t.Errorf("kv fault applied to arm: %d", code)
	}
	srv.ClearFaults()
}

func TestConcurrencyAndReset(t *testing.T) {
	srv := start(t, fakeazure.Options{Latency: 20 * time.Millisecond})
	tok := srv.MintToken(srv.Tenant(), testClient, armScope, 0)
	srv.AddFault(fakeazure.Fault{Kind: fakeazure.KindARM, Latency: 400 * time.Millisecond})
	c := srv.Client()
	const n = 4
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, err := armGet(t, srv, c, "/subscriptions?api-version=1", tok); err != nil || code != 200 {
				t.Errorf("%d %v", code, err)
			}
		}()
	}
	wg.Wait()
	if p := srv.PeakConcurrency(fakeazure.KindARM); p != n {
		t.Errorf("peak %d, want %d", p, n)
	}
	if p := srv.PeakConcurrency(""); p != n {
		t.Errorf("overall peak %d", p)
	}
	if p := srv.PeakConcurrency(fakeazure.KindKV); p != 0 {
		t.Errorf("kv peak %d", p)
	}
	if got := srv.CountRequests(fakeazure.KindARM); got != n {
		t.Errorf("count %d", got)
	}
	for _, r := range srv.Requests() {
		if r.Kind != fakeazure.KindARM || r.Method != "GET" || r.Path != "/subscriptions" || r.Host == "" || r.Time.IsZero() || r.Status != 200 {
			t.Errorf("bad entry %+v", r)
		}
	}
	srv.Reset()
	if srv.CountRequests("") != 0 || srv.PeakConcurrency("") != 0 || srv.PeakConcurrency(fakeazure.KindARM) != 0 {
		t.Error("Reset did not clear")
	}
	if len(srv.IssuedTokens()) != 1 {
		t.Error("Reset cleared issued tokens")
	}
}

func TestCAFile(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, fakeazure.Options{Dir: dir})
	if srv.CAFile != filepath.Join(dir, "ca.pem") {
		t.Errorf("CAFile %q", srv.CAFile)
	}
	b, err := os.ReadFile(srv.CAFile)
	if err != nil || string(b) != string(srv.CAPEM) || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Errorf("CA file: %v", err)
	}
	// The default HTTP client does not trust the fake.
	if _, err := http.Get(srv.URL + "/x"); err == nil {
		t.Error("system roots trust the fake CA")
	}
	if _, err := fakeazure.Start(fakeazure.Options{Addr: "0.0.0.0:0", Dir: t.TempDir()}); err == nil {
		t.Error("non-loopback address accepted")
	}
	srv.Close()
	srv.Close()
	if _, err := srv.AddVault("late"); err == nil {
		t.Error("AddVault after Close succeeded")
	}
}

func TestTempDirRemoved(t *testing.T) {
	srv, err := fakeazure.Start(fakeazure.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ca := srv.CAFile
	if _, err := os.Stat(ca); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if _, err := os.Stat(filepath.Dir(ca)); !os.IsNotExist(err) {
		t.Errorf("temp dir left behind: %v", err)
	}
}

// uniqueResource returns a resource no other test or run uses: MSAL caches
// managed identity tokens process-wide, across servers.
func uniqueResource(name string) string {
	return fmt.Sprintf("https://%s-%d.example", name, time.Now().UnixNano())
}

// unsetEnv unsets variables for the test, restoring them after.
func unsetEnv(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRotateSecret: a rotation makes a new version current while the old
// one stays readable by version; a fault narrowed to one secret's path
// leaves the others alone.
func TestRotateSecret(t *testing.T) {
	srv := start(t, fakeazure.Options{})
	tenant := srv.Tenant()
	srv.AddServicePrincipal(tenant, testClient, testSecret)
	vaultURL, err := srv.AddVault("rot")
	if err != nil {
		t.Fatal(err)
	}
	must(t, srv.SetSecret("rot", "db", "00000000000000000000000000000001", "first"))
	must(t, srv.SetSecret("rot", "other", "", "other-value"))
	if _, err := srv.RotateSecret("rot", "missing", "x"); err == nil {
		t.Error("rotating a secret that does not exist: no error")
	}
	client, err := azsecrets.NewClient(vaultURL, secretCred(t, srv, tenant, testClient, testSecret), &azsecrets.ClientOptions{
		ClientOptions: clientOptions(srv), DisableChallengeResourceVerification: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	get := func(name, version string) (value, gotVersion string, err error) {
		resp, err := client.GetSecret(ctx, name, version, nil)
		if err != nil {
			return "", "", err
		}
		return *resp.Value, resp.ID.Version(), nil
	}
	newVersion, err := srv.RotateSecret("rot", "db", "second")
	if err != nil || len(newVersion) != 32 {
		t.Fatalf("RotateSecret: %q, %v", newVersion, err)
	}
	if v, ver, err := get("db", ""); err != nil || v != "second" || ver != newVersion {
		t.Errorf("current after rotation: %q %q %v, want second %s", v, ver, err, newVersion)
	}
	if v, _, err := get("db", "00000000000000000000000000000001"); err != nil || v != "first" {
		t.Errorf("pinned old version: %q %v, want first", v, err)
	}
	srv.AddFault(fakeazure.Fault{Kind: fakeazure.KindKV, Path: "/secrets/DB", Status: 500})
	if _, _, err := get("db", ""); err == nil {
		t.Error("fault on /secrets/db: the read succeeded")
	}
	if _, _, err := get("db", newVersion); err == nil {
		t.Error("fault on /secrets/db: a versioned read succeeded")
	}
	if v, _, err := get("other", ""); err != nil || v != "other-value" {
		t.Errorf("fault on /secrets/db applied to another secret: %q %v", v, err)
	}
}
