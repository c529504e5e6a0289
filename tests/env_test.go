package tests

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// writeFile writes content into the test's scratch directory and returns
// the path.
func (f *fake) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := f.path(name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// printVars is a child that prints NAME=VALUE for each name, "NAME unset"
// when the variable is not set.
func printVars(names ...string) []string {
	var script strings.Builder
	for _, n := range names {
		fmt.Fprintf(&script, `if [ "${%[1]s+set}" = set ]; then echo "%[1]s=$%[1]s"; else echo "%[1]s unset"; fi;`, n)
	}
	return []string{"sh", "-c", script.String()}
}

// TestEnvFiles proves the documented precedence (process environment,
// then each --env-file in order, the later winning), that a service
// principal in an env file is used for resolution, and that a missing or
// malformed file is a usage error that names file and line, shows no value
// and keeps COMMAND from starting.
func TestEnvFiles(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	a := f.writeFile(t, "a.env", "# first file\nFOO=from-a\nBAR=from-a\n")
	b := f.writeFile(t, "b.env", "export BAR=\"from-b\"\n")
	env := f.env(append(p.env(), "FOO=from-process", "BAR=from-process", "BAZ=from-process")...)
	wantVars := "FOO=from-a\nBAR=from-b\nBAZ=from-process\n"

	for _, mode := range modes {
		t.Run("precedence/"+mode.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--env-file", a, "--env-file", b}, wrap(mode.flags, printVars("FOO", "BAR", "BAZ")...)...)
			stdout, stderr, code := runAzexec(t, env, "", args...)
			if code != 0 || stdout != wantVars {
				t.Errorf("status %d, child printed:\n%s\nwant status 0 and:\n%s\nstderr:\n%s", code, stdout, wantVars, stderr)
			}
		})
	}
	t.Run("precedence/AZEXEC_ENV_FILE", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runAzexec(t, setEnv(env, "AZEXEC_ENV_FILE="+a+","+b), "", wrap(nil, printVars("FOO", "BAR", "BAZ")...)...)
		if code != 0 || stdout != wantVars {
			t.Errorf("status %d, child printed:\n%s\nwant status 0 and:\n%s\nstderr:\n%s", code, stdout, wantVars, stderr)
		}
	})
	t.Run("later file wins whatever the order", func(t *testing.T) {
		t.Parallel()
		stdout, _, code := runAzexec(t, env, "", append([]string{"--env-file", b, "--env-file", a}, wrap(nil, printVars("BAR")...)...)...)
		if code != 0 || stdout != "BAR=from-a\n" {
			t.Errorf("status %d, child printed %q; want BAR=from-a", code, stdout)
		}
	})

	t.Run("service principal from an env file", func(t *testing.T) {
		t.Parallel()
		q := f.newSP()
		file := f.writeFile(t, "sp.env", strings.Join(q.env(), "\n")+"\n")
		got := whoami(t, f.env(), "--env-file", file)
		want{source: "env", kind: "service principal (client secret)", tenant: q.tenant, client: q.client,
			object: q.objectID(), attempts: "env:ok"}.check(t, f, got)
		// The wrapper hands the same identity to the child.
		stdout, _, code := runAzexec(t, f.env(), "", append([]string{"--env-file", file},
			wrap(nil, "sh", "-c", `echo "$AZURE_TENANT_ID $AZURE_CLIENT_ID ${#AZURE_CLIENT_SECRET}"`)...)...)
		if wantOut := fmt.Sprintf("%s %s %d\n", q.tenant, q.client, len(q.secret)); code != 0 || stdout != wantOut {
			t.Errorf("status %d, child printed %q; want 0 and %q", code, stdout, wantOut)
		}
	})

	t.Run("env files before and after whoami add up", func(t *testing.T) {
		// A plain value in the file before whoami, the whole service
		// principal in the one after: both are read. (A service principal
		// split over two files is refused: TestAttackEnvFileWholeServicePrincipal.)
		t.Parallel()
		q := f.newSP()
		plain := f.writeFile(t, "plain.env", "APP_NAME=demo\n")
		whole := f.writeFile(t, "whole.env", strings.Join(q.env(), "\n")+"\n")
		got := whoami(t, f.env(), "--env-file", plain, "whoami", "--env-file", whole)
		want{source: "env", kind: "service principal (client secret)", tenant: q.tenant, client: q.client,
			object: q.objectID(), attempts: "env:ok"}.check(t, f, got)
	})

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		m := newMarker(t)
		missing := f.path("no-such.env")
		_, stderr, code := runAzexec(t, env, "", append([]string{"--env-file", a, "--env-file", missing}, wrap(nil, m.command()...)...)...)
		if code != 2 {
			t.Errorf("status %d, want 2", code)
		}
		if line := requireLine(t, stderr, "azexec: error: "); !strings.Contains(line, missing) {
			t.Errorf("error line does not name %s: %q", missing, line)
		}
		if m.exists() {
			t.Errorf("COMMAND ran despite the missing env file")
		}
	})

	secret := "malformed-" + randomHex(12)
	malformed := []struct {
		name, content string
		line          int
	}{
		{"unterminated quote", "OK=1\n# comment\nTOKEN=\"" + secret + "\nLATER=2\n", 3},
		{"no separator", "OK=1\n\n\n" + secret + "\n", 4},
		{"space in name", "OK=1\nMY " + secret + "=1\n", 2},
		{"bad name", "OK=1\n" + secret + "!=x\n", 2},
	}
	for _, c := range malformed {
		t.Run("malformed/"+c.name, func(t *testing.T) {
			t.Parallel()
			m := newMarker(t)
			file := f.writeFile(t, strings.ReplaceAll(c.name, " ", "-")+".env", c.content)
			for _, args := range [][]string{
				append([]string{"--env-file", file}, wrap(nil, m.command()...)...),
				append([]string{"--supervise", "--env-file", file, "--log-level", "trace"}, wrap(nil, m.command()...)...),
				{"--env-file", file, "whoami"},
			} {
				stdout, stderr, code := runAzexec(t, env, "", args...)
				if code != 2 {
					t.Errorf("azexec %q: status %d, want 2", args, code)
				}
				line := requireLine(t, stderr, "azexec: error: ")
				if !strings.Contains(line, file) || !strings.Contains(line, fmt.Sprintf("line %d", c.line)) {
					t.Errorf("error line does not name %s and line %d: %q", file, c.line, line)
				}
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("the malformed line's text was printed:\n%s", stderr)
				}
			}
			if m.exists() {
				t.Errorf("COMMAND ran despite the malformed env file")
			}
		})
	}
}

// childEnv runs `azexec ARGS -- env` and returns the child's whole
// environment.
func childEnv(t *testing.T, env []string, args ...string) map[string]string {
	t.Helper()
	stdout, stderr, code := runAzexec(t, env, "", append(args, "--", "env")...)
	if code != 0 {
		t.Fatalf("status %d, want 0\nstderr:\n%s", code, stderr)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	return got
}

// envMap turns NAME=VALUE entries into a map.
func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

// diffEnv reports every variable in which the child's environment got
// differs from want.
func diffEnv(t *testing.T, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("child lacks %s", k)
		} else if g != want[k] {
			t.Errorf("child has %s=%q, want %q", k, g, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("child has unexpected %s=%q", k, got[k])
		}
	}
}

// TestChildEnvironment proves what COMMAND receives: exactly azexec's
// environment plus, for a service principal azexec holds, the variables
// every SDK's EnvironmentCredential reads (stale ones of the other
// credential kind removed); for other identities, nothing changed.
func TestChildEnvironment(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			t.Run("auth file service principal", func(t *testing.T) {
				t.Parallel()
				f := startFake(t)
				p, sub := f.newSP(), newUUID()
				file := f.writeAuthFile(t, "auth.json", p, sub, false)
				env := f.env()
				want := envMap(env)
				want["AZURE_TENANT_ID"] = p.tenant
				want["AZURE_CLIENT_ID"] = p.client
				want["AZURE_CLIENT_SECRET"] = p.secret
				want["AZURE_SUBSCRIPTION_ID"] = sub
				diffEnv(t, childEnv(t, env, append(mode.flags, "--auth-file", file)...), want)
			})
			t.Run("auth file's authority is handed over", func(t *testing.T) {
				// No AZURE_AUTHORITY_HOST in azexec's environment: the
				// file's endpoint (not the public cloud's) must reach the
				// child, or its SDK would ask login.microsoftonline.com.
				t.Parallel()
				f := startFake(t)
				p, sub := f.newSP(), newUUID()
				file := f.writeAuthFile(t, "auth.json", p, sub, false)
				env := unsetEnv(f.env("AZURE_AUTH_LOCATION="+file), "AZURE_AUTHORITY_HOST")
				want := envMap(env)
				want["AZURE_TENANT_ID"] = p.tenant
				want["AZURE_CLIENT_ID"] = p.client
				want["AZURE_CLIENT_SECRET"] = p.secret
				want["AZURE_SUBSCRIPTION_ID"] = sub
				want["AZURE_AUTHORITY_HOST"] = f.URL + "/"
				diffEnv(t, childEnv(t, env, mode.flags...), want)
			})
			t.Run("stale certificate variables removed", func(t *testing.T) {
				// The client secret wins, as in EnvironmentCredential; the
				// child must not see a certificate its SDK could pick.
				t.Parallel()
				f := startFake(t)
				p := f.newSP()
				env := f.env(append(p.env(), "AZURE_CLIENT_CERTIFICATE_PATH="+f.path("stale.pem"),
					"AZURE_CLIENT_CERTIFICATE_PASSWORD=stale-password")...)
				want := envMap(unsetEnv(env, "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD"))
				diffEnv(t, childEnv(t, env, mode.flags...), want)
			})
			t.Run("certificate service principal", func(t *testing.T) {
				t.Parallel()
				f := startFake(t)
				p, cc := f.newCertSP(t)
				env := f.env("AZURE_TENANT_ID="+p.tenant, "AZURE_CLIENT_ID="+p.client,
					"AZURE_CLIENT_CERTIFICATE_PATH="+cc.PFXFile, "AZURE_CLIENT_CERTIFICATE_PASSWORD="+cc.Password)
				diffEnv(t, childEnv(t, env, mode.flags...), envMap(env))
			})
			t.Run("china cloud sets the authority", func(t *testing.T) {
				t.Parallel()
				f := startFake(t)
				p := f.newSP()
				env := f.env(p.env()...)
				got := childEnv(t, env, append(mode.flags, "--cloud", "china")...)
				if got["AZURE_AUTHORITY_HOST"] != f.URL+"/" {
					t.Errorf("AZURE_AUTHORITY_HOST=%q, want the fake's %q (AZURE_AUTHORITY_HOST overrides the cloud's)", got["AZURE_AUTHORITY_HOST"], f.URL+"/")
				}
				if got["AZURE_TENANT_ID"] != p.tenant || got["AZURE_CLIENT_ID"] != p.client {
					t.Errorf("tenant %q, client %q; want %q, %q", got["AZURE_TENANT_ID"], got["AZURE_CLIENT_ID"], p.tenant, p.client)
				}
				if w := whoami(t, env, "--cloud", "china"); w.Cloud != "china" {
					t.Errorf("whoami cloud %q, want china", w.Cloud)
				}
			})
			t.Run("az login leaves the environment unchanged", func(t *testing.T) {
				t.Parallel()
				f := startFake(t)
				f.writeFakeAz(t, newUUID())
				env := f.env()
				diffEnv(t, childEnv(t, env, mode.flags...), envMap(env))
			})
			t.Run("managed identity leaves the environment unchanged", func(t *testing.T) {
				t.Parallel()
				f := startFake(t)
				env := f.env("IDENTITY_ENDPOINT="+f.MIEndpoint(), "IDENTITY_HEADER="+f.MIHeader)
				diffEnv(t, childEnv(t, env, mode.flags...), envMap(env))
			})
		})
	}
}
