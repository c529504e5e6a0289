package tests

// This file tests the CI sources (github, pipelines) against the fake's
// OIDC issuers, the job credentials' removal from the child, and masking
// in CI logs.

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/fakeazure"
)

// ghSubject is the sub of the fake GitHub job's tokens.
const ghSubject = "repo:fake-org/fake-repo:ref:refs/heads/main"

// ciJob is a CI job the fake knows: its issuer, the application federated
// with it, and the environment the runner gives the step.
type ciJob struct {
	iss            *fakeazure.OIDCIssuer
	tenant, client string
	env            []string
}

// githubJob registers an application in tenant (a new one when empty)
// with a federated credential for a new GitHub issuer's job; fc, when not
// nil, replaces the matching credential (to test mismatches).
func (f *fake) githubJob(t *testing.T, tenant string, ttl time.Duration, fc *fakeazure.FederatedCredential) ciJob {
	t.Helper()
	if tenant == "" {
		tenant = newUUID()
	}
	j := ciJob{iss: f.AddGitHubIssuer(ghSubject, ttl), tenant: tenant, client: newUUID()}
	cred := fakeazure.FederatedCredential{Issuer: j.iss.Issuer, Subject: ghSubject, Audience: "api://AzureADTokenExchange"}
	if fc != nil {
		cred = *fc
	}
	f.AddServicePrincipal(tenant, j.client, "")
	f.AddFederatedCredential(tenant, j.client, cred)
	j.env = f.env("ACTIONS_ID_TOKEN_REQUEST_URL="+j.iss.RequestURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+j.iss.RequestToken,
		"AZURE_TENANT_ID="+tenant, "AZURE_CLIENT_ID="+j.client)
	return j
}

// pipelinesJob registers an application federated with a service
// connection of a new Azure DevOps issuer, and the variables AzureCLI@2
// sets, with SYSTEM_ACCESSTOKEN mapped into the step.
func (f *fake) pipelinesJob(t *testing.T, ttl time.Duration) (ciJob, string) {
	t.Helper()
	j := ciJob{iss: f.AddDevOpsIssuer(ttl), tenant: newUUID(), client: newUUID()}
	conn := newUUID()
	sub := "sc://fake-org/fake-project/deploy-connection"
	j.iss.AddServiceConnection(conn, sub)
	f.AddServicePrincipal(j.tenant, j.client, "")
	f.AddFederatedCredential(j.tenant, j.client, fakeazure.FederatedCredential{Issuer: j.iss.Issuer, Subject: sub, Audience: "api://AzureADTokenExchange"})
	j.env = f.env("SYSTEM_OIDCREQUESTURI="+j.iss.RequestURL, "SYSTEM_ACCESSTOKEN="+j.iss.RequestToken, "TF_BUILD=True",
		"AZURESUBSCRIPTION_SERVICE_CONNECTION_ID="+conn, "AZURESUBSCRIPTION_CLIENT_ID="+j.client, "AZURESUBSCRIPTION_TENANT_ID="+j.tenant)
	return j, conn
}

func attemptOf(w whoamiJSON, source string) attempt {
	for _, a := range w.Attempts {
		if a.Source == source {
			return a
		}
	}
	return attempt{}
}

// TestCISourcesWhoami: each CI source, chosen alone or by auto, names
// itself and the client; auto skips each with a reason when it is not
// configured.
func TestCISourcesWhoami(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	gh := f.githubJob(t, "", 0, nil)
	for _, args := range [][]string{{"--identity", "github"}, nil} {
		w := whoami(t, gh.env, args...)
		if w.Source != "github" || w.ClientID != gh.client || w.TenantID != gh.tenant {
			t.Errorf("%q: source %q client %q tenant %q, want github %s %s", args, w.Source, w.ClientID, w.TenantID, gh.client, gh.tenant)
		}
		if args == nil && attemptsString(w.Attempts) != "env:skipped auth-file:skipped workload:skipped github:ok" {
			t.Errorf("auto: %s", attemptsString(w.Attempts))
		}
	}
	if n := f.CountRequests(fakeazure.KindGitHubOIDC); n == 0 {
		t.Error("no OIDC token was requested from the GitHub issuer")
	}

	pl, conn := f.pipelinesJob(t, 0)
	for _, args := range [][]string{{"--identity", "pipelines"}, nil} {
		w := whoami(t, pl.env, args...)
		if w.Source != "pipelines" || w.ClientID != pl.client || !strings.Contains(w.Kind, conn) {
			t.Errorf("%q: source %q client %q kind %q, want pipelines %s", args, w.Source, w.ClientID, w.Kind, pl.client)
		}
		if args == nil && attemptsString(w.Attempts) != "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:ok" {
			t.Errorf("auto: %s", attemptsString(w.Attempts))
		}
	}
	// --service-connection instead of the task's variable.
	env := unsetEnv(pl.env, "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")
	if w := whoami(t, env, "--identity", "pipelines", "--service-connection", conn); w.Source != "pipelines" {
		t.Errorf("--service-connection: source %q", w.Source)
	}
	if n := f.CountRequests(fakeazure.KindDevOpsOIDC); n == 0 {
		t.Error("no OIDC token was requested from the DevOps issuer")
	}

	// Not configured: auto skips both with a reason, and moves on.
	az := f.writeFakeAz(t, newUUID())
	w := whoami(t, f.env())
	if w.Source != "cli" || !az.ran() {
		t.Fatalf("source %q, want cli", w.Source)
	}
	if a := attemptOf(w, "github"); a.Status != "skipped" || !strings.Contains(a.Reason, "ACTIONS_ID_TOKEN_REQUEST_URL") {
		t.Errorf("github: %+v", a)
	}
	if a := attemptOf(w, "pipelines"); a.Status != "skipped" || !strings.Contains(a.Reason, "SYSTEM_OIDCREQUESTURI") {
		t.Errorf("pipelines: %+v", a)
	}
	if got := attemptsString(w.Attempts); !strings.HasPrefix(got, "env:skipped auth-file:skipped workload:skipped github:skipped pipelines:skipped managed:") {
		t.Errorf("order: %s", got)
	}
	// AZURE_TOKEN_CREDENTIALS=prod keeps both.
	_, stderr, code := runAzexec(t, f.env("AZURE_TOKEN_CREDENTIALS=prod"), "", "whoami")
	if code != 3 || !strings.Contains(stderr, "  github") || !strings.Contains(stderr, "  pipelines") {
		t.Errorf("prod: status %d, want 3 listing github and pipelines:\n%s", code, stderr)
	}
}

// TestCISourcesMisconfigured: a job without `permissions: id-token: write`
// is skipped with a reason and a hint naming it; a service connection
// without SYSTEM_ACCESSTOKEN gets the hint to map it; a GitHub token whose
// subject or audience no federated credential matches exits 3 with a hint
// naming the issuer, subject and audience a credential must have.
func TestCISourcesMisconfigured(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	t.Run("no id-token permission", func(t *testing.T) {
		_, stderr, code := runAzexec(t, f.env("GITHUB_ACTIONS=true", "AZURE_TENANT_ID="+newUUID(), "AZURE_CLIENT_ID="+newUUID()),
			"", "--identity", "github", "whoami")
		if code != 3 || !strings.Contains(stderr, "github     skipped") || !strings.Contains(requireLine(t, stderr, "azexec: hint:"), "id-token: write") {
			t.Errorf("status %d, want 3, skipped, hint with id-token: write:\n%s", code, stderr)
		}
	})
	t.Run("no SYSTEM_ACCESSTOKEN", func(t *testing.T) {
		pl, _ := f.pipelinesJob(t, 0)
		_, stderr, code := runAzexec(t, unsetEnv(pl.env, "SYSTEM_ACCESSTOKEN"), "", "--identity", "pipelines", "whoami")
		hint := requireLine(t, stderr, "azexec: hint:")
		if code != 3 || !strings.Contains(hint, "SYSTEM_ACCESSTOKEN: $(System.AccessToken)") {
			t.Errorf("status %d, want 3 and the hint to map SYSTEM_ACCESSTOKEN:\n%s", code, stderr)
		}
		if f.CountRequests(fakeazure.KindDevOpsOIDC) != 0 {
			t.Error("the OIDC endpoint was called without a token")
		}
	})
	t.Run("wrong request token", func(t *testing.T) {
		gh := f.githubJob(t, "", 0, nil)
		_, stderr, code := runAzexec(t, setEnv(gh.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=stale"+randomHex(16)), "", "--identity", "github", "whoami")
		if code != 3 || !strings.Contains(stderr, "GitHub Actions OIDC token request (ACTIONS_ID_TOKEN_REQUEST_URL): 401") {
			t.Errorf("status %d, want 3 naming the OIDC request and its 401:\n%s", code, stderr)
		}
	})
	t.Run("stale SYSTEM_ACCESSTOKEN", func(t *testing.T) {
		pl, _ := f.pipelinesJob(t, 0)
		_, stderr, code := runAzexec(t, setEnv(pl.env, "SYSTEM_ACCESSTOKEN=stale"+randomHex(16)), "", "--identity", "pipelines", "whoami")
		hint := requireLine(t, stderr, "azexec: hint:")
		if code != 3 || !strings.Contains(stderr, "Azure Pipelines OIDC token request (SYSTEM_OIDCREQUESTURI) failed: HTTP 401") ||
			!strings.Contains(hint, "SYSTEM_ACCESSTOKEN") {
			t.Errorf("status %d, want 3 naming the OIDC request, its 401 and SYSTEM_ACCESSTOKEN:\n%s", code, stderr)
		}
	})
	t.Run("OIDC endpoint busy, then answers", func(t *testing.T) {
		g := startFake(t)
		gh := g.githubJob(t, "", 0, nil)
		g.AddFault(fakeazure.Fault{Kind: fakeazure.KindGitHubOIDC, Status: http.StatusServiceUnavailable, Times: 2})
		if w := whoami(t, gh.env, "--identity", "github"); w.Source != "github" {
			t.Errorf("source %q", w.Source)
		}
		if n := g.CountRequests(fakeazure.KindGitHubOIDC); n != 3 {
			t.Errorf("%d OIDC requests, want 3 (two refused, one retry served)", n)
		}
	})
	for name, fc := range map[string]func(iss string) fakeazure.FederatedCredential{
		"wrong subject": func(iss string) fakeazure.FederatedCredential {
			return fakeazure.FederatedCredential{Issuer: iss, Subject: "repo:fake-org/fake-repo:environment:prod", Audience: "api://AzureADTokenExchange"}
		},
		"wrong audience": func(iss string) fakeazure.FederatedCredential {
			return fakeazure.FederatedCredential{Issuer: iss, Subject: ghSubject, Audience: "api://SomethingElse"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			iss := f.AddGitHubIssuer(ghSubject, 0)
			gh := ciJob{iss: iss, tenant: newUUID(), client: newUUID()}
			f.AddServicePrincipal(gh.tenant, gh.client, "")
			f.AddFederatedCredential(gh.tenant, gh.client, fc(iss.Issuer))
			env := f.env("ACTIONS_ID_TOKEN_REQUEST_URL="+iss.RequestURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+iss.RequestToken,
				"AZURE_TENANT_ID="+gh.tenant, "AZURE_CLIENT_ID="+gh.client)
			_, stderr, code := runAzexec(t, env, "", "whoami")
			hint := requireLine(t, stderr, "azexec: hint:")
			for _, want := range []string{strconv.Quote(iss.Issuer), strconv.Quote(ghSubject), strconv.Quote("api://AzureADTokenExchange"), gh.client} {
				if !strings.Contains(hint, want) {
					t.Errorf("hint lacks %s", want)
				}
			}
			if code != 3 || !strings.Contains(stderr, "AADSTS7002") {
				t.Errorf("status %d, want 3 with Entra ID's code:\n%s", code, stderr)
			}
			checkNoSecrets(t, f, stderr, []string{iss.RequestToken})
		})
	}
}

// longJobChild asks the identity endpoint for a token of a new resource
// every second, 15 times, and prints one line per answer; it also checks
// that its environment holds none of the job's request credentials.
const longJobChild = `
import json, os, sys, time, urllib.request
for k in ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_ACCESSTOKEN"):
    if k in os.environ:
        print("child has", k)
secret = sys.argv[1]
if any(secret in v for v in os.environ.values()):
    print("child holds the request token")
for i in range(15):
    req = urllib.request.Request(os.environ["IDENTITY_ENDPOINT"] + "?api-version=2019-08-01&resource=https://res%d.example.com" % i)
    req.add_header("X-IDENTITY-HEADER", os.environ["IDENTITY_HEADER"])
    try:
        body = json.load(urllib.request.urlopen(req))
        print("ok", i, bool(body.get("access_token")))
    except Exception as e:
        print("failed", i, e)
    sys.stdout.flush()
    time.sleep(1)
`

// TestLongJob: the issuer's tokens live 3 s; a child served by --inject
// endpoint asks for a token of a new resource every second for 15 s.
// Every request succeeds, because azexec fetches a new assertion each
// time; reusing one would fail once it expired.
func TestLongJob(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	gh := f.githubJob(t, "", 3*time.Second, nil)
	stdout, stderr, code := runAzexec(t, gh.env, "", "--identity", "github", "--inject", "endpoint", "--",
		realTool(t, "python3"), "-c", longJobChild, gh.iss.RequestToken)
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	for i := range 15 {
		if !strings.Contains(stdout, "ok "+strconv.Itoa(i)+" True\n") {
			t.Errorf("request %d did not succeed", i)
		}
	}
	if strings.Contains(stdout, "failed") || strings.Contains(stdout, "child h") {
		t.Errorf("child:\n%s", stdout)
	}
	// One assertion proves the identity, one more per new resource: more
	// than one assertion's lifetime's worth.
	if n := f.CountRequests(fakeazure.KindGitHubOIDC); n < 6 {
		t.Errorf("%d assertions fetched, want several (one per new resource)", n)
	}
	checkNoSecrets(t, f, stdout+stderr, []string{gh.iss.RequestToken})
}

// TestJobCredentialsNeverReachChild: in every injection mode, and in
// `azexec env --all`, the job's request credentials are gone; modes that
// need a secret the CI sources do not have are usage errors pointing to
// endpoint.
func TestJobCredentialsNeverReachChild(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	gh := f.githubJob(t, "", 0, nil)
	pl, _ := f.pipelinesJob(t, 0)
	p := f.newSP()
	// A job running a service principal still has its request tokens.
	spEnv := f.env(append(p.env(), "ACTIONS_ID_TOKEN_REQUEST_URL="+gh.iss.RequestURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN="+gh.iss.RequestToken, "SYSTEM_ACCESSTOKEN="+pl.iss.RequestToken)...)
	cases := []struct {
		name string
		env  []string
		mode string
	}{
		{"github auto", gh.env, "auto"}, {"github endpoint", gh.env, "endpoint"}, {"github none", gh.env, "none"},
		{"pipelines auto", pl.env, "auto"}, {"pipelines endpoint", pl.env, "endpoint"},
		{"sp auto", spEnv, "auto"}, {"sp env", spEnv, "env"}, {"sp auth-file", spEnv, "auth-file"}, {"sp none", spEnv, "none"},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			dump := filepath.Join(t.TempDir(), "env")
			_, stderr, code := runAzexec(t, tc.env, "", "--inject", tc.mode, "--", "sh", "-c", `env > "$0"`, dump)
			if code != 0 {
				t.Fatalf("status %d\n%s", code, stderr)
			}
			b, err := os.ReadFile(dump)
			if err != nil {
				t.Fatal(err)
			}
			for i, bad := range []string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN=", "ACTIONS_ID_TOKEN_REQUEST_URL=", "SYSTEM_ACCESSTOKEN=", gh.iss.RequestToken, pl.iss.RequestToken} {
				if strings.Contains(string(b), bad) {
					t.Errorf("child environment holds %s", [...]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_ACCESSTOKEN", "GitHub's request token", "SYSTEM_ACCESSTOKEN's value"}[i])
				}
			}
		})
	}
	for _, env := range [][]string{gh.env, spEnv} {
		out, _, code := runAzexec(t, env, "", "env", "--all")
		if code != 0 || strings.Contains(out, gh.iss.RequestToken) || strings.Contains(out, "ACTIONS_ID_TOKEN_REQUEST") {
			t.Errorf("azexec env --all: status %d, or it prints the job's request credentials", code)
		}
	}
	for _, mode := range []string{"env", "auth-file"} {
		for _, env := range [][]string{gh.env, pl.env} {
			m := newMarker(t)
			_, stderr, code := runAzexec(t, env, "", append([]string{"--inject", mode, "--"}, m.command()...)...)
			if code != 2 || m.exists() || !strings.Contains(requireLine(t, stderr, "azexec: hint:"), "--inject endpoint") {
				t.Errorf("--inject %s: status %d, want 2 with a hint to endpoint, child not run\n%s", mode, code, stderr)
			}
		}
	}
}

// runSplit runs azexec with stdout to a file (as `azexec ... > file`) and
// stderr captured, and returns the file's content and stderr.
func runSplit(t *testing.T, env []string, args ...string) (file, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	path := filepath.Join(t.TempDir(), "out")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var errBuf bytes.Buffer
	cmd := exec.CommandContext(ctx, azexecBin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, out, &errBuf
	_ = cmd.Run()
	b, _ := os.ReadFile(path)
	return string(b), errBuf.String(), cmd.ProcessState.ExitCode()
}

// runCombined runs azexec with stdout and stderr into one pipe, as a CI
// runner reads a step, and returns what it read, in order.
func runCombined(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, azexecBin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &buf, &buf
	if err := cmd.Run(); err != nil {
		t.Fatalf("azexec %q: %v\n%s", args, err, buf.String())
	}
	return buf.String()
}

// TestCIMasking: under GitHub Actions `azexec token` announces the token
// with ::add-mask:: on stderr before printing it, and a redirected stdout
// holds the token alone; under Azure Pipelines the ##vso[task.setsecret]
// line; outside CI, or when only an env file claims CI, neither. Values
// resolved for the child are masked line by line.
func TestCIMasking(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	const gh, vso = "::add-mask::", "##vso[task.setsecret]"
	cases := []struct {
		name      string
		env       []string
		args      []string
		want, not []string
	}{
		{"github", []string{"GITHUB_ACTIONS=true"}, nil, []string{gh}, []string{vso}},
		{"pipelines", []string{"TF_BUILD=True"}, nil, []string{vso}, []string{gh}},
		{"both", []string{"GITHUB_ACTIONS=true", "TF_BUILD=True"}, nil, []string{gh, vso}, nil},
		{"neither", nil, nil, nil, []string{gh, vso}},
		{"github false", []string{"GITHUB_ACTIONS=false"}, nil, nil, []string{gh, vso}},
	}
	envFile := f.writeFile(t, "ci.env", "GITHUB_ACTIONS=true\nTF_BUILD=True\n")
	cases = append(cases, struct {
		name      string
		env       []string
		args      []string
		want, not []string
	}{"env file claims CI", nil, []string{"--env-file", envFile}, nil, []string{gh, vso}})
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			env := f.env(append(p.env(), tc.env...)...)
			args := append(append([]string(nil), tc.args...), "token", "arm")
			file, stderr, code := runSplit(t, env, args...)
			if code != 0 {
				t.Fatalf("status %d\n%s", code, stderr)
			}
			tok := strings.TrimSpace(file)
			if strings.Count(file, "\n") != 1 || strings.Count(tok, ".") != 2 {
				t.Errorf("the redirected stdout holds more than the token:\n%s", file)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w+tok+"\n") {
					t.Errorf("stderr lacks %s for the token:\n%s", w, clip(stderr))
				}
			}
			for _, n := range tc.not {
				if strings.Contains(stderr, n) || strings.Contains(file, n) {
					t.Errorf("output holds %s", n)
				}
			}
			if len(tc.want) > 0 {
				// As the runner reads the step: the mask before the token.
				all := runCombined(t, env, args...)
				i := strings.Index(all, tc.want[0])
				j := -1
				if i >= 0 {
					masked, _, _ := strings.Cut(all[i+len(tc.want[0]):], "\n")
					j = strings.LastIndex(all, "\n"+masked+"\n")
				}
				if i < 0 || j < i {
					t.Errorf("the mask line does not come before the token:\n%s", clip(all))
				}
			}
		})
	}

	t.Run("multi-line values for the child and azexec env", func(t *testing.T) {
		host := f.vaultHost(t, "kv-mask")
		value := "-----BEGIN KEY-----\nline two 100%\n\nline four\n"
		f.setSecret(t, "kv-mask", "pem", "", value)
		env := kvEnv(f, p, "GITHUB_ACTIONS=true", "KEY=keyvault://"+host+"/pem", "TF_BUILD=True", consent(host))
		for _, args := range [][]string{{"--", "true"}, {"--token", "T=arm", "--", "true"}, {"env"}} {
			_, stderr, code := runAzexec(t, env, "", args...)
			if code != 0 {
				t.Fatalf("%q: status %d", args, code)
			}
			for _, line := range []string{"-----BEGIN KEY-----", "line two 100%25", "line four"} {
				if !strings.Contains(stderr, gh+line+"\n") {
					t.Errorf("%q: no %s%s line:\n%s", args, gh, line, stderr)
				}
			}
			if !strings.Contains(stderr, vso+"line two 100%\n") {
				t.Errorf("%q: no %s line for line two", args, vso)
			}
			if strings.Contains(stderr, gh+"\n") {
				t.Errorf("%q: an empty line was announced", args)
			}
			if args[0] == "--token" && strings.Count(stderr, gh) < 4 {
				t.Errorf("%q: want the three key lines and the token masked, got:\n%s", args, stderr)
			}
		}
	})
}
