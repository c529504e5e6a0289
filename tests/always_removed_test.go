package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// azexec's own secrets never reach a program it starts (security issue,
// item 4). AZEXEC_KEYRING_PASSWORD opens every profile and the token cache,
// far more than one run needs; it used to reach COMMAND in the env and auto
// modes. The attack: a COMMAND (or an az that the identity chain runs)
// reads its environment. Each case fails if the passphrase, by name or by
// value, is there.

func TestAzexecSecretsNeverReachChildren(t *testing.T) {
	t.Parallel()
	type setup struct {
		env  []string
		args []string
		az   string // the file a wrapped az writes its environment to
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fake) setup
	}{
		{"env", func(t *testing.T, f *fake) setup {
			return setup{env: f.env(f.newSP().env()...), args: []string{"--inject", "env"}}
		}},
		{"env/supervise", func(t *testing.T, f *fake) setup {
			return setup{env: f.env(f.newSP().env()...), args: []string{"--inject", "env", "--supervise"}}
		}},
		{"auth-file", func(t *testing.T, f *fake) setup {
			return setup{env: f.env(f.newSP().env()...), args: []string{"--inject", "auth-file"}}
		}},
		{"endpoint", func(t *testing.T, f *fake) setup {
			return setup{env: f.env(f.newSP().env()...), args: []string{"--inject", "endpoint"}}
		}},
		{"none", func(t *testing.T, f *fake) setup {
			return setup{env: f.env(f.newSP().env()...), args: []string{"--inject", "none"}}
		}},
		{"auto/service principal", func(t *testing.T, f *fake) setup {
			return setup{env: f.env(f.newSP().env()...), args: []string{"--inject", "auto"}}
		}},
		{"auto/az login", func(t *testing.T, f *fake) setup {
			// Not a service principal: auto leaves the environment as it
			// is, except for azexec's own secrets. az itself is a child
			// too (the SDK starts it with azexec's process environment).
			f.writeFakeAz(t, newUUID())
			real := filepath.Join(f.binDir, "az-real")
			if err := os.Rename(filepath.Join(f.binDir, "az"), real); err != nil {
				t.Fatal(err)
			}
			azEnv := f.path("az.env")
			f.writeProgram(t, "az", "env > '"+azEnv+"'\nexec '"+real+"' \"$@\"\n")
			return setup{env: f.env(), args: []string{"--identity", "cli", "--inject", "auto"}, az: azEnv}
		}},
		{"auto/env file", func(t *testing.T, f *fake) setup {
			// An env file is no way in either: one that sets it is refused
			// (TestAttackEnvFileRedirects); one that does not changes
			// nothing.
			file := f.writeFile(t, "app.env", "APP=1\n")
			return setup{env: f.env(f.newSP().env()...), args: []string{"--env-file", file}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := startFake(t)
			s := c.setup(t, f)
			passphrase := "keyring-passphrase-" + randomHex(12)
			env := setEnv(s.env, "AZEXEC_KEYRING_PASSWORD="+passphrase)
			got := childEnv(t, env, s.args...)
			for _, k := range []string{"AZEXEC_KEYRING_PASSWORD"} {
				if _, ok := got[k]; ok {
					t.Errorf("COMMAND received %s", k)
				}
			}
			for k, v := range got {
				if strings.Contains(v, passphrase) || strings.Contains(v, "from-a-file") {
					t.Errorf("COMMAND received the passphrase in %s", k)
				}
			}
			if c.name == "auto/env file" && got["APP"] != "1" {
				t.Errorf("the env file's other variable did not arrive: APP=%q", got["APP"])
			}
			if s.az != "" {
				b, err := os.ReadFile(s.az)
				if err != nil {
					t.Fatalf("az did not run: %v", err)
				}
				if strings.Contains(string(b), "AZEXEC_KEYRING_PASSWORD") || strings.Contains(string(b), passphrase) {
					t.Errorf("az, started by the identity chain, received the keyring passphrase")
				}
			}
		})
	}
}
