package tests

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
)

// want is what whoami must report for one identity.
type want struct {
	source, kind           string // kind: a prefix of the "kind" field
	tenant, client, object string
	subscription           string
	authority              string // "" means the fake's URL + "/"
	attempts               string // as attemptsString prints them
	expiresOn              time.Time
}

// check compares a whoami report with w.
func (w want) check(t *testing.T, f *fake, got whoamiJSON) {
	t.Helper()
	authority := w.authority
	if authority == "" {
		authority = f.URL + "/"
	}
	for _, c := range []struct{ field, got, want string }{
		{"source", got.Source, w.source},
		{"tenantId", got.TenantID, w.tenant},
		{"clientId", got.ClientID, w.client},
		{"objectId", got.ObjectID, w.object},
		{"subscriptionId", got.Subscription, w.subscription},
		{"authority", got.Authority, authority},
		{"attempts", attemptsString(got.Attempts), w.attempts},
	} {
		if !strings.EqualFold(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if !strings.HasPrefix(got.Kind, w.kind) {
		t.Errorf("kind = %q, want it to start with %q", got.Kind, w.kind)
	}
	if !w.expiresOn.IsZero() && !got.ExpiresOn.Equal(w.expiresOn) {
		t.Errorf("expiresOn = %v, want %v", got.ExpiresOn, w.expiresOn)
	}
	if got.ExpiresOn.Before(time.Now()) {
		t.Errorf("expiresOn = %v is in the past", got.ExpiresOn)
	}
	for _, a := range got.Attempts {
		if a.Status == "skipped" && a.Reason == "" {
			t.Errorf("source %s skipped without a reason", a.Source)
		}
	}
}

// TestWhoamiNamesTheSource proves, for every identity source, that
// `whoami --json` resolves it through the real SDK against the fake (the
// tenant, client and object ids come from the token the fake issued) and
// lists the sources tried before it.
func TestWhoamiNamesTheSource(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fake) ([]string, []string, want) // env, args, want
	}{
		{"env client secret", func(t *testing.T, f *fake) ([]string, []string, want) {
			p := f.newSP()
			return f.env(p.env()...), nil, want{source: "env", kind: "service principal (client secret)",
				tenant: p.tenant, client: p.client, object: p.objectID(), attempts: "env:ok"}
		}},
		{"env certificate PEM", func(t *testing.T, f *fake) ([]string, []string, want) {
			p, cc := f.newCertSP(t)
			env := f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_ID="+p.client, "AZURE_CLIENT_CERTIFICATE_PATH="+cc.PEMFile)
			return env, nil, want{source: "env", kind: "service principal (certificate)",
				tenant: p.tenant, client: p.client, object: p.objectID(), attempts: "env:ok"}
		}},
		{"env certificate PKCS12 with password", func(t *testing.T, f *fake) ([]string, []string, want) {
			p, cc := f.newCertSP(t)
			env := f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_ID="+p.client,
				"AZURE_CLIENT_CERTIFICATE_PATH="+cc.PFXFile, "AZURE_CLIENT_CERTIFICATE_PASSWORD="+cc.Password)
			return env, nil, want{source: "env", kind: "service principal (certificate)",
				tenant: p.tenant, client: p.client, object: p.objectID(), attempts: "env:ok"}
		}},
		{"auth file from AZURE_AUTH_LOCATION", func(t *testing.T, f *fake) ([]string, []string, want) {
			p, sub := f.newSP(), newUUID()
			file := f.writeAuthFile(t, "auth.json", p, sub, false)
			return f.env("AZURE_AUTH_LOCATION=" + file), nil, want{source: "auth-file", kind: "service principal (auth file",
				tenant: p.tenant, client: p.client, object: p.objectID(), subscription: sub, attempts: "env:skipped auth-file:ok"}
		}},
		{"auth file from --auth-file", func(t *testing.T, f *fake) ([]string, []string, want) {
			p, sub := f.newSP(), newUUID()
			file := f.writeAuthFile(t, "auth.json", p, sub, false)
			return f.env(), []string{"--auth-file", file}, want{source: "auth-file", kind: "service principal (auth file",
				tenant: p.tenant, client: p.client, object: p.objectID(), subscription: sub, attempts: "env:skipped auth-file:ok"}
		}},
		{"auth file in UTF-16LE with BOM", func(t *testing.T, f *fake) ([]string, []string, want) {
			p, sub := f.newSP(), newUUID()
			file := f.writeAuthFile(t, "auth-utf16.json", p, sub, true)
			return f.env("AZURE_AUTH_LOCATION=" + file), nil, want{source: "auth-file", kind: "service principal (auth file",
				tenant: p.tenant, client: p.client, object: p.objectID(), subscription: sub, attempts: "env:skipped auth-file:ok"}
		}},
		{"auth file's endpoint is the authority", func(t *testing.T, f *fake) ([]string, []string, want) {
			// Without AZURE_AUTHORITY_HOST only the file's
			// activeDirectoryEndpointUrl leads to the fake.
			p, sub := f.newSP(), newUUID()
			file := f.writeAuthFile(t, "auth.json", p, sub, false)
			env := unsetEnv(f.env("AZURE_AUTH_LOCATION="+file), "AZURE_AUTHORITY_HOST")
			return env, nil, want{source: "auth-file", kind: "service principal (auth file",
				tenant: p.tenant, client: p.client, object: p.objectID(), subscription: sub, attempts: "env:skipped auth-file:ok"}
		}},
		{"workload identity", func(t *testing.T, f *fake) ([]string, []string, want) {
			tenant, client, assertion := newUUID(), newUUID(), "e2e-federated-"+randomHex(24)
			f.AddFederated(tenant, client, assertion)
			file := f.path("azure-identity-token")
			if err := os.WriteFile(file, []byte(assertion), 0o600); err != nil {
				t.Fatal(err)
			}
			env := f.env("AZURE_TENANT_ID="+tenant, "AZURE_CLIENT_ID="+client, "AZURE_FEDERATED_TOKEN_FILE="+file)
			return env, nil, want{source: "workload", kind: "workload identity",
				tenant: tenant, client: client, object: fakeazure.ObjectID(tenant, client),
				attempts: "env:skipped auth-file:skipped workload:ok"}
		}},
		{"managed identity on App Service", func(t *testing.T, f *fake) ([]string, []string, want) {
			env := f.env("IDENTITY_ENDPOINT="+f.MIEndpoint(), "IDENTITY_HEADER="+f.MIHeader)
			return env, nil, want{source: "managed", kind: "managed identity (App Service)",
				tenant: f.Tenant(), client: f.MIClientID(), object: fakeazure.ObjectID(f.Tenant(), f.MIClientID()),
				attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:ok"}
		}},
		{"user-assigned managed identity from --client-id", func(t *testing.T, f *fake) ([]string, []string, want) {
			ua := newUUID()
			f.AddUserAssignedIdentity(ua, "")
			env := f.env("IDENTITY_ENDPOINT="+f.MIEndpoint(), "IDENTITY_HEADER="+f.MIHeader)
			return env, []string{"--client-id", ua}, want{source: "managed", kind: "managed identity (App Service)",
				tenant: f.Tenant(), client: ua, object: fakeazure.ObjectID(f.Tenant(), ua),
				attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:ok"}
		}},
		{"az login", func(t *testing.T, f *fake) ([]string, []string, want) {
			az := f.writeFakeAz(t, newUUID())
			t.Cleanup(func() {
				if args := az.callArgs(t); !strings.Contains(args, "--resource https://management.azure.com") {
					t.Errorf("az was not asked for a Resource Manager token: %q", args)
				}
			})
			return f.env(), nil, want{source: "cli", kind: "Azure CLI login",
				tenant: az.tenant, client: az.client, object: az.objectID(), expiresOn: az.expiresOn,
				attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:skipped cli:ok"}
		}},
		{"azd login", func(t *testing.T, f *fake) ([]string, []string, want) {
			azd := f.writeFakeAzd(t)
			return f.env(), nil, want{source: "azd", kind: "Azure Developer CLI login",
				tenant: azd.tenant, client: azd.client, object: azd.objectID(), expiresOn: azd.expiresOn,
				attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:skipped cli:skipped azd:ok"}
		}},
		{"--identity cli before whoami", func(t *testing.T, f *fake) ([]string, []string, want) {
			// A working service principal is configured too: --identity
			// cli must not try it.
			az := f.writeFakeAz(t, "")
			return f.env(f.newSP().env()...), []string{"--identity", "cli", "whoami"}, want{source: "cli", kind: "Azure CLI login",
				tenant: az.tenant, client: az.client, object: az.objectID(), attempts: "cli:ok"}
		}},
		{"--identity cli after whoami", func(t *testing.T, f *fake) ([]string, []string, want) {
			az := f.writeFakeAz(t, "")
			return f.env(f.newSP().env()...), []string{"whoami", "--identity", "cli"}, want{source: "cli", kind: "Azure CLI login",
				tenant: az.tenant, client: az.client, object: az.objectID(), attempts: "cli:ok"}
		}},
		{"AZEXEC_IDENTITY=azd", func(t *testing.T, f *fake) ([]string, []string, want) {
			f.writeFakeAz(t, "")
			azd := f.writeFakeAzd(t)
			return f.env("AZEXEC_IDENTITY=azd"), nil, want{source: "azd", kind: "Azure Developer CLI login",
				tenant: azd.tenant, client: azd.client, object: azd.objectID(), attempts: "azd:ok"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t)
			env, args, w := c.setup(t, f)
			w.check(t, f, whoami(t, env, args...))
		})
	}
}

// TestWhoamiText proves the human form of whoami: the source with its
// kind, the ids, and the sources tried.
func TestWhoamiText(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p, sub := f.newSP(), newUUID()
	file := f.writeAuthFile(t, "auth.json", p, sub, false)
	stdout, stderr, code := runAzexec(t, f.env(), "", "--auth-file", file, "whoami")
	if code != 0 {
		t.Fatalf("status %d, want 0\nstderr:\n%s", code, stderr)
	}
	for prefix, value := range map[string]string{
		"source:":       "auth-file (service principal (auth file",
		"tenant:":       p.tenant,
		"client id:":    p.client,
		"object id:":    p.objectID(),
		"subscription:": sub,
	} {
		if line := requireLine(t, stdout, prefix); !strings.Contains(line, value) {
			t.Errorf("line %q does not show %q", line, value)
		}
	}
	requireLine(t, stdout, "sources tried:")
	if got := attemptsString(listedAttempts(stdout)); got != "env:skipped auth-file:ok" {
		t.Errorf("sources tried: %q, want %q", got, "env:skipped auth-file:ok")
	}
}

// TestWhoamiIMDS proves that with nothing configured azexec finds the
// managed identity of a VM through IMDS at 169.254.169.254. It serves the
// fake IMDS there, which only the offline namespace allows (tests/offline.sh
// puts that address on its loopback). Not parallel: it owns the address,
// and every other test expects nothing there.
func TestWhoamiIMDS(t *testing.T) {
	f := startFake(t)
	stop, err := f.ServeIMDS("169.254.169.254:80")
	if err != nil {
		t.Skipf("cannot serve the fake IMDS on 169.254.169.254:80 (run inside tests/offline.sh, which puts that address on lo): %v", err)
	}
	t.Cleanup(stop)
	got := whoami(t, f.env())
	want{source: "managed", kind: "managed identity (IMDS)",
		tenant: f.Tenant(), client: f.MIClientID(), object: fakeazure.ObjectID(f.Tenant(), f.MIClientID()),
		attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:ok"}.check(t, f, got)
	if n := f.CountRequests(fakeazure.KindIMDS); n == 0 {
		t.Errorf("the fake IMDS saw no request")
	}
}
