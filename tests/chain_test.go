package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
)

// TestNothingConfigured proves exit status 3 with every source listed as
// skipped, each with its reason, and a hint, for whoami and for the
// wrapper (whose COMMAND must not start). Off Azure the IMDS probe is
// refused at once here; the time it took is only logged.
func TestNothingConfigured(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	m := newMarker(t)
	for _, args := range [][]string{{"whoami"}, wrap(nil, m.command()...), wrap([]string{"--supervise"}, m.command()...)} {
		start := time.Now()
		stdout, stderr, code := runAzexec(t, f.env(), "", args...)
		t.Logf("azexec %q took %s", args, time.Since(start))
		if code != 3 {
			t.Errorf("azexec %q: status %d, want 3", args, code)
		}
		if stdout != "" {
			t.Errorf("azexec %q: stdout %q, want nothing", args, stdout)
		}
		if line := requireLine(t, stderr, "azexec: error: "); !strings.Contains(line, "no azure identity found") {
			t.Errorf("error line %q", line)
		}
		requireLine(t, stderr, "azexec: sources tried:")
		got := listedAttempts(stderr)
		if s := attemptsString(got); s != "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:skipped cli:skipped azd:skipped" {
			t.Errorf("sources tried: %q, want all eight skipped", s)
		}
		for _, a := range got {
			if a.Reason == "" {
				t.Errorf("source %s skipped without a reason", a.Source)
			}
		}
		requireLine(t, stderr, "azexec: hint: ")
	}
	if m.exists() {
		t.Errorf("COMMAND ran without an identity")
	}
}

// TestWrongClientSecret proves that a configured service principal whose
// secret is wrong ends the chain with status 3, Entra ID's code and a hint,
// and never falls through to the developer's az login (a working fake az
// is on PATH; it records every run).
func TestWrongClientSecret(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	p.secret = "e2e8Q~wrong" + randomHex(12)
	az := f.writeFakeAz(t, "")
	m := newMarker(t)
	for _, args := range [][]string{{"whoami"}, wrap(nil, m.command()...)} {
		stdout, stderr, code := runAzexec(t, f.env(p.env()...), "", args...)
		if code != 3 {
			t.Errorf("azexec %q: status %d, want 3", args, code)
		}
		if stdout != "" {
			t.Errorf("azexec %q: stdout %q, want nothing", args, stdout)
		}
		if !strings.Contains(stderr, "AADSTS7000215") {
			t.Errorf("azexec %q: stderr does not carry AADSTS7000215:\n%s", args, stderr)
		}
		requireLine(t, stderr, "azexec: hint: ")
		if got := attemptsString(listedAttempts(stderr)); got != "env:failed" {
			t.Errorf("azexec %q: sources tried %q, want %q", args, got, "env:failed")
		}
	}
	if az.ran() {
		t.Errorf("az ran after the service principal failed: the chain went on to the developer login")
	}
	if m.exists() {
		t.Errorf("COMMAND ran although authentication failed")
	}
}

// TestTokenCredentials proves AZURE_TOKEN_CREDENTIALS narrows the chain as
// the SDKs document, that an explicit --identity wins over it, and that an
// unknown or empty value is a usage error (status 2, with a hint).
func TestTokenCredentials(t *testing.T) {
	t.Parallel()
	t.Run("dev skips a configured service principal", func(t *testing.T) {
		t.Parallel()
		f := startFake(t)
		az := f.writeFakeAz(t, "")
		got := whoami(t, f.env(append(f.newSP().env(), "AZURE_TOKEN_CREDENTIALS=dev")...))
		want{source: "cli", kind: "Azure CLI login", tenant: az.tenant, client: az.client, object: az.objectID(),
			attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:skipped cli:ok"}.check(t, f, got)
		// The service principal is listed, with why it was not used.
		if a := got.Attempts[0]; a.Reason != "excluded by AZURE_TOKEN_CREDENTIALS=dev" {
			t.Errorf("env skipped for %q", a.Reason)
		}
	})
	t.Run("AzureCLICredential", func(t *testing.T) {
		t.Parallel()
		f := startFake(t)
		az := f.writeFakeAz(t, "")
		got := whoami(t, f.env(append(f.newSP().env(), "AZURE_TOKEN_CREDENTIALS=AzureCLICredential")...))
		want{source: "cli", kind: "Azure CLI login", tenant: az.tenant, client: az.client, object: az.objectID(),
			attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:skipped cli:ok"}.check(t, f, got)
	})
	t.Run("--identity wins over dev", func(t *testing.T) {
		t.Parallel()
		f := startFake(t)
		az := f.writeFakeAz(t, "")
		p := f.newSP()
		got := whoami(t, f.env(append(p.env(), "AZURE_TOKEN_CREDENTIALS=dev")...), "--identity", "env")
		want{source: "env", kind: "service principal", tenant: p.tenant, client: p.client, object: p.objectID(),
			attempts: "env:ok"}.check(t, f, got)
		if az.ran() {
			t.Errorf("az ran although --identity env was given")
		}
	})
	t.Run("prod never runs az", func(t *testing.T) {
		t.Parallel()
		f := startFake(t)
		az := f.writeFakeAz(t, "")
		_, stderr, code := runAzexec(t, f.env("AZURE_TOKEN_CREDENTIALS=prod"), "", "whoami")
		if code != 3 {
			t.Errorf("status %d, want 3", code)
		}
		if got := attemptsString(listedAttempts(stderr)); got != "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:skipped cli:skipped azd:skipped" {
			t.Errorf("sources tried %q", got)
		}
		if az.ran() {
			t.Errorf("az ran with AZURE_TOKEN_CREDENTIALS=prod")
		}
	})
	// "dev" and "prod" are matched exactly by the Go SDK (only the
	// credential type names ignore case), so "DEV" is "any other value".
	for _, value := range []string{"bogus", "", "DEV"} {
		t.Run("invalid "+`"`+value+`"`, func(t *testing.T) {
			t.Parallel()
			f := startFake(t)
			az := f.writeFakeAz(t, "")
			m := newMarker(t)
			env := f.env(append(f.newSP().env(), "AZURE_TOKEN_CREDENTIALS="+value)...)
			for _, args := range [][]string{{"whoami"}, wrap(nil, m.command()...)} {
				_, stderr, code := runAzexec(t, env, "", args...)
				if code != 2 {
					t.Errorf("azexec %q: status %d, want 2", args, code)
				}
				if line := requireLine(t, stderr, "azexec: error: "); !strings.Contains(line, "AZURE_TOKEN_CREDENTIALS") {
					t.Errorf("error line does not name AZURE_TOKEN_CREDENTIALS: %q", line)
				}
				requireLine(t, stderr, "azexec: hint: ")
			}
			if az.ran() || m.exists() {
				t.Errorf("az ran: %v, COMMAND ran: %v; want neither", az.ran(), m.exists())
			}
		})
	}
}

// TestUsernamePasswordRefused proves that AZURE_USERNAME/AZURE_PASSWORD
// (deprecated, no MFA) is refused with status 3 and a hint towards a
// service principal, without trying the az login on PATH and without
// printing the password.
func TestUsernamePasswordRefused(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	az := f.writeFakeAz(t, "")
	password := "e2e-password-" + randomHex(12)
	env := f.env("AZURE_TENANT_ID="+newUUID(), "AZURE_CLIENT_ID="+newUUID(),
		"AZURE_USERNAME=someone@example.com", "AZURE_PASSWORD="+password)
	stdout, stderr, code := runAzexec(t, env, "", "whoami")
	if code != 3 {
		t.Errorf("status %d, want 3", code)
	}
	if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, "service principal") {
		t.Errorf("hint %q does not point to a service principal", hint)
	}
	if strings.Contains(stdout+stderr, password) {
		t.Errorf("the password was printed")
	}
	if az.ran() {
		t.Errorf("az ran: the refused username/password must end the chain")
	}
}

// TestBrokenConfigurationEndsChain proves that a source that is configured
// but unusable (a missing or unreadable file, a wrong certificate password,
// an unknown tenant or application) ends the chain with status 3 and a
// hint instead of falling through to the developer's az login (a working
// fake az is on PATH and records every run), and that no secret of the
// broken configuration is printed.
func TestBrokenConfigurationEndsChain(t *testing.T) {
	t.Parallel()
	type setup struct {
		env     []string
		secrets []string
		mention string // a substring of the error or hint lines
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fake) setup
	}{
		{"certificate file missing", func(t *testing.T, f *fake) setup {
			missing := f.path("missing.pem")
			return setup{env: f.env("AZURE_TENANT_ID="+newUUID(), "AZURE_CLIENT_ID="+newUUID(), "AZURE_CLIENT_CERTIFICATE_PATH="+missing),
				mention: missing}
		}},
		{"PKCS12 wrong password", func(t *testing.T, f *fake) setup {
			p, cc := f.newCertSP(t)
			wrong := "wrong-pfx-" + randomHex(8)
			return setup{env: f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_ID="+p.client,
				"AZURE_CLIENT_CERTIFICATE_PATH="+cc.PFXFile, "AZURE_CLIENT_CERTIFICATE_PASSWORD="+wrong),
				secrets: []string{wrong, cc.Password}, mention: cc.PFXFile}
		}},
		{"certificate not registered", func(t *testing.T, f *fake) setup {
			p, _ := f.newCertSP(t)
			other, err := newUnregisteredCert(f)
			if err != nil {
				t.Fatal(err)
			}
			return setup{env: f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_ID="+p.client, "AZURE_CLIENT_CERTIFICATE_PATH="+other),
				mention: "AADSTS"}
		}},
		{"auth file missing", func(t *testing.T, f *fake) setup {
			missing := f.path("missing-auth.json")
			return setup{env: f.env("AZURE_AUTH_LOCATION=" + missing), mention: missing}
		}},
		{"auth file not JSON", func(t *testing.T, f *fake) setup {
			secret := "authfile-secret-" + randomHex(8)
			file := f.writeFile(t, "broken-auth.json", `{"clientId": "x", "clientSecret": "`+secret+`", oops`)
			return setup{env: f.env("AZURE_AUTH_LOCATION=" + file), secrets: []string{secret}, mention: file}
		}},
		{"federated token file missing", func(t *testing.T, f *fake) setup {
			missing := f.path("missing-token")
			return setup{env: f.env("AZURE_TENANT_ID="+newUUID(), "AZURE_CLIENT_ID="+newUUID(), "AZURE_FEDERATED_TOKEN_FILE="+missing),
				mention: missing}
		}},
		{"secret without client id", func(t *testing.T, f *fake) setup {
			p := f.newSP()
			return setup{env: f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_SECRET="+p.secret),
				secrets: []string{p.secret}, mention: "AZURE_CLIENT_ID"}
		}},
		{"unknown tenant", func(t *testing.T, f *fake) setup {
			p := sp{tenant: newUUID(), client: newUUID(), secret: "e2e8Q~" + randomHex(12)}
			return setup{env: f.env(p.env()...), secrets: []string{p.secret}, mention: "AADSTS90002"}
		}},
		{"unknown application", func(t *testing.T, f *fake) setup {
			p := sp{tenant: f.Tenant(), client: newUUID(), secret: "e2e8Q~" + randomHex(12)}
			return setup{env: f.env(p.env()...), secrets: []string{p.secret}, mention: "AADSTS700016"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t)
			az := f.writeFakeAz(t, "")
			s := c.setup(t, f)
			m := newMarker(t)
			for _, args := range [][]string{{"whoami"}, wrap(nil, m.command()...)} {
				stdout, stderr, code := runAzexec(t, s.env, "", append([]string{"--log-level", "trace"}, args...)...)
				if code != 3 {
					t.Errorf("azexec %q: status %d, want 3", args, code)
				}
				report := requireLine(t, stderr, "azexec: error: ") + "\n" + requireLine(t, stderr, "azexec: hint: ")
				if !strings.Contains(report, s.mention) {
					t.Errorf("azexec %q: error and hint do not mention %q:\n%s", args, s.mention, report)
				}
				for _, secret := range s.secrets {
					if strings.Contains(stdout+stderr, secret) {
						t.Errorf("azexec %q printed a secret of the configuration", args)
					}
				}
			}
			if az.ran() {
				t.Errorf("az ran: the chain went on past a broken configuration")
			}
			if m.exists() {
				t.Errorf("COMMAND ran without an identity")
			}
		})
	}
}

// newUnregisteredCert writes a certificate the fake does not know.
func newUnregisteredCert(f *fake) (string, error) {
	cc, err := fakeazure.NewClientCertificate(f.dir, "unregistered", "", 0)
	if err != nil {
		return "", err
	}
	return cc.PEMFile, nil
}

// TestDeveloperLoginFailureContinues proves the exception for developer
// logins: az failing (not logged in) lets the chain go on to azd, as in
// DefaultAzureCredential; with --identity cli alone it is status 3 with
// the hint to run az login.
func TestDeveloperLoginFailureContinues(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.writeProgram(t, "az", `echo "ERROR: Please run 'az login' to setup account." >&2; exit 1`+"\n")
	azd := f.writeFakeAzd(t)
	got := whoami(t, f.env())
	want{source: "azd", kind: "Azure Developer CLI login", tenant: azd.tenant, client: azd.client, object: azd.objectID(),
		attempts: "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:skipped cli:failed azd:ok"}.check(t, f, got)

	_, stderr, code := runAzexec(t, f.env(), "", "--identity", "cli", "whoami")
	if code != 3 {
		t.Errorf("--identity cli: status %d, want 3", code)
	}
	// The README promises a hint for "not logged in to az", the cause
	// azexec found (the reason above), not the generic list of sources.
	if hint := requireLine(t, stderr, "azexec: hint: "); !strings.Contains(hint, "run az login") {
		t.Errorf("hint %q does not say to run az login", hint)
	}
}
