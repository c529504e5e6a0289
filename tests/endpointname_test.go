package tests

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestManagedEndpointByHostName is azexec as a container's entrypoint,
// without the container: the identity endpoint the host serves is named by
// a host name, not 127.0.0.1 (in a container it is host.containers.internal
// or host.docker.internal). The outer azexec serves the endpoint under the
// name localhost; the inner one, started with a Key Vault reference in its
// environment, must find the managed identity
// (App Service) there, resolve the reference with it, and leave
// IDENTITY_ENDPOINT and IDENTITY_HEADER to the app for its own SDK.
func TestManagedEndpointByHostName(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	p.tenant = f.Tenant()
	f.AddServicePrincipal(p.tenant, p.client, p.secret)
	host := f.vaultHost(t, "kv-name")
	value := "by-name-" + randomHex(8)
	f.setSecret(t, "kv-name", "app-secret", "", value)
	dump := filepath.Join(t.TempDir(), "env")
	env := kvEnv(f, p, consent(host), "AZ="+azexecBin, "DUMP="+dump, "VAULT="+host)
	inner := `APP_SECRET="keyvault://$VAULT/app-secret" exec "$AZ" --log-level debug -- sh -c 'env -0 > "$DUMP"'`
	r := runAzexecResult(t, env, "", "serve", "--advertise", "localhost", "--", "sh", "-c", inner)
	if r.code != 0 {
		t.Fatalf("status %d:\n%s", r.code, r.stderr)
	}
	got := readDump(t, dump)
	if got["APP_SECRET"] != value {
		t.Errorf("the reference in the container's environment was not resolved through the named endpoint")
	}
	u, err := url.Parse(got["IDENTITY_ENDPOINT"])
	if err != nil || u.Hostname() != "localhost" {
		t.Errorf("the app's IDENTITY_ENDPOINT is %q; want the named endpoint kept for its SDK", got["IDENTITY_ENDPOINT"])
	}
	if got["IDENTITY_HEADER"] == "" {
		t.Errorf("the app lost IDENTITY_HEADER")
	}
	if got["AZURE_CLIENT_SECRET"] != "" || strings.Contains(r.stderr, p.secret) {
		t.Errorf("the inner run saw the host's client secret")
	}
	if !strings.Contains(r.stderr, "App Service") {
		t.Errorf("the inner azexec did not report the App Service managed identity:\n%s", r.stderr)
	}
}
