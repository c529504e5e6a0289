package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
)

// secretScenario is an identity whose secrets must never be printed.
type secretScenario struct {
	env     []string
	args    []string // before the subcommand or "--"
	secrets []string // values that must not appear (tokens are added)
	// code is the status of every run: 0, or 3 when authentication fails.
	code int
	// child is what the wrapper's child prints: the lengths of the
	// credential variables it received (never their values).
	child string
}

// childLengths is the child of TestNoSecretInOutput: it proves it received
// the credential variables by printing their lengths.
var childLengths = []string{"sh", "-c", `echo "ok secret=${#AZURE_CLIENT_SECRET} password=${#AZURE_CLIENT_CERTIFICATE_PASSWORD}"`}

func lengths(secret, password string) string {
	return fmt.Sprintf("ok secret=%d password=%d\n", len(secret), len(password))
}

// TestNoSecretInOutput runs whoami and the wrapper (both modes) at log
// levels trace, debug and info, in text and JSON, for every kind of
// identity, and searches everything azexec printed for the run's secrets
// (client secrets, certificate password, federated assertion, managed
// identity header, a CI job's request token and every OIDC assertion) and for every token the fake issued or minted, whole or
// in part (payload or signature). The wrapper's child must still have
// received the secret: it prints its length.
func TestNoSecretInOutput(t *testing.T) {
	t.Parallel()
	scenarios := map[string]func(t *testing.T, f *fake) secretScenario{
		"client secret": func(t *testing.T, f *fake) secretScenario {
			p := f.newSP()
			return secretScenario{env: f.env(p.env()...), secrets: []string{p.secret}, child: lengths(p.secret, "")}
		},
		"certificate password": func(t *testing.T, f *fake) secretScenario {
			p, cc := f.newCertSP(t)
			env := f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_ID="+p.client,
				"AZURE_CLIENT_CERTIFICATE_PATH="+cc.PFXFile, "AZURE_CLIENT_CERTIFICATE_PASSWORD="+cc.Password)
			return secretScenario{env: env, secrets: []string{cc.Password}, child: lengths("", cc.Password)}
		},
		"auth file": func(t *testing.T, f *fake) secretScenario {
			p := f.newSP()
			file := f.writeAuthFile(t, "auth.json", p, newUUID(), false)
			return secretScenario{env: f.env(), args: []string{"--auth-file", file}, secrets: []string{p.secret}, child: lengths(p.secret, "")}
		},
		"env file": func(t *testing.T, f *fake) secretScenario {
			p := f.newSP()
			file := f.writeFile(t, "sp.env", strings.Join(p.env(), "\n")+"\n")
			return secretScenario{env: f.env(), args: []string{"--env-file", file}, secrets: []string{p.secret}, child: lengths(p.secret, "")}
		},
		"wrong secret": func(t *testing.T, f *fake) secretScenario {
			p := f.newSP()
			right := p.secret
			p.secret = "e2e8Q~wrong" + randomHex(16)
			return secretScenario{env: f.env(p.env()...), secrets: []string{p.secret, right}, code: 3}
		},
		"workload identity": func(t *testing.T, f *fake) secretScenario {
			tenant, client, assertion := newUUID(), newUUID(), "e2e-federated-"+randomHex(24)
			f.AddFederated(tenant, client, assertion)
			file := f.writeFile(t, "token", assertion)
			env := f.env("AZURE_TENANT_ID="+tenant, "AZURE_CLIENT_ID="+client, "AZURE_FEDERATED_TOKEN_FILE="+file)
			return secretScenario{env: env, secrets: []string{assertion}, child: lengths("", "")}
		},
		"managed identity": func(t *testing.T, f *fake) secretScenario {
			env := f.env("IDENTITY_ENDPOINT="+f.MIEndpoint(), "IDENTITY_HEADER="+f.MIHeader)
			return secretScenario{env: env, secrets: []string{f.MIHeader}, child: lengths("", "")}
		},
		// The CI sources: the job's request token must not appear, nor
		// any assertion the issuer signed (checkNoSecrets searches them).
		"github oidc": func(t *testing.T, f *fake) secretScenario {
			j := f.githubJob(t, "", 0, nil)
			return secretScenario{env: j.env, secrets: []string{j.iss.RequestToken}, child: lengths("", "")}
		},
		"pipelines oidc": func(t *testing.T, f *fake) secretScenario {
			j, _ := f.pipelinesJob(t, 0)
			env := unsetEnv(j.env, "TF_BUILD") // masking lines are tested in ci_test.go
			return secretScenario{env: env, secrets: []string{j.iss.RequestToken}, child: lengths("", "")}
		},
		"github wrong subject": func(t *testing.T, f *fake) secretScenario {
			j := f.githubJob(t, "", 0, &fakeazure.FederatedCredential{Subject: "repo:other/repo:ref:refs/heads/main", Audience: "api://AzureADTokenExchange"})
			return secretScenario{env: j.env, secrets: []string{j.iss.RequestToken}, code: 3}
		},
		"az login": func(t *testing.T, f *fake) secretScenario {
			az := f.writeFakeAz(t, newUUID())
			return secretScenario{env: f.env(), secrets: []string{az.token}, child: lengths("", "")}
		},
	}
	commands := map[string][]string{
		"whoami":            {"whoami"},
		"whoami-json":       {"whoami", "--json"},
		"wrapper":           wrap(nil, childLengths...),
		"wrapper-supervise": wrap([]string{"--supervise"}, childLengths...),
	}
	for name, setup := range scenarios {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			f := startFake(t)
			sc := setup(t, f)
			t.Cleanup(func() {
				// Every scenario but the failing one gets tokens: the
				// search covered them.
				if sc.code == 0 && len(f.IssuedTokens()) == 0 {
					t.Errorf("the fake issued no token at all")
				}
			})
			for _, level := range []string{"trace", "debug", "info"} {
				for _, format := range []string{"text", "json"} {
					for cname, command := range commands {
						t.Run(level+"/"+format+"/"+cname, func(t *testing.T) {
							t.Parallel()
							args := append(append(append([]string(nil), sc.args...), "--log-level", level, "--log-format", format), command...)
							stdout, stderr, code := runAzexec(t, sc.env, "", args...)
							if code != sc.code {
								t.Errorf("status %d, want %d", code, sc.code)
							}
							if level == "trace" && !strings.Contains(stderr, "azexec") {
								t.Errorf("nothing logged at trace level: the search below would prove nothing")
							}
							if level == "trace" && format == "json" && !strings.HasPrefix(stderr, "{") {
								t.Errorf("--log-format json: stderr does not start with a JSON object:\n%s", clip(stderr))
							}
							if strings.HasPrefix(cname, "wrapper") && sc.code == 0 && stdout != sc.child {
								t.Errorf("child printed %q, want %q", stdout, sc.child)
							}
							checkNoSecrets(t, f, stdout+stderr, sc.secrets)
						})
					}
				}
			}
		})
	}
}

// checkNoSecrets fails for every secret, and every token the fake has
// issued so far (whole, payload or signature), that out contains.
func checkNoSecrets(t *testing.T, f *fake, out string, secrets []string) {
	t.Helper()
	for i, s := range secrets {
		if s == "" {
			t.Fatalf("secret %d of the scenario is empty", i)
		}
		if strings.Contains(out, s) {
			t.Errorf("output contains secret %d of the scenario (length %d)", i, len(s))
		}
	}
	// Access tokens, then the federated assertions the CI issuers signed.
	tokens := append(f.IssuedTokens(), f.IssuedAssertions()...)
	for i, tok := range tokens {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("token %d is not a JWT", i)
		}
		for j, piece := range []string{tok, parts[1], parts[2]} {
			if strings.Contains(out, piece) {
				t.Errorf("output contains issued token %d (%s)", i, [...]string{"whole", "payload", "signature"}[j])
			}
		}
	}
}

// TestNoSecretOnDisk proves azexec leaves no file behind in HOME (no token
// cache, no config): credentials never reach disk.
func TestNoSecretOnDisk(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	runAzexec(t, f.env(p.env()...), "", "--supervise", "--log-level", "trace", "--", "true")
	entries, err := os.ReadDir(f.home)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("azexec left %s in HOME", e.Name())
	}
}
