package tests

// This file holds the end-to-end tests of the first ten minutes with azexec:
// the subscription the Azure CLI login hands to COMMAND in the default
// inject mode, misspelt Key Vault references, `azexec env` without any
// identity, and the help, version and completion commands as a shell sees
// them.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeAzProfile writes the Azure CLI's azureProfile.json under HOME with
// sub as the default subscription, as `az login` leaves it (with a BOM).
func (f *fake) writeAzProfile(t *testing.T, sub string) {
	t.Helper()
	dir := filepath.Join(f.home, ".azure")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	data := "\ufeff" + `{"installationId": "x", "subscriptions": [` +
		`{"id": "` + newUUID() + `", "name": "other", "isDefault": false},` +
		`{"id": "` + sub + `", "name": "default", "isDefault": true}]}`
	if err := os.WriteFile(filepath.Join(dir, "azureProfile.json"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSubscriptionReachesCommandInEveryMode: with the az login in the
// default mode (auto), COMMAND used to get no AZURE_SUBSCRIPTION_ID at all,
// and --subscription X was silently ignored. Now az's default subscription
// reaches it, an explicit --subscription wins in every mode, and one the
// environment already holds is left alone.
func TestSubscriptionReachesCommandInEveryMode(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	f.writeFakeAz(t, "")
	def, explicit, inherited := newUUID(), newUUID(), newUUID()
	f.writeAzProfile(t, def)
	env := f.env()
	cases := []struct {
		name string
		env  []string
		args []string
		want string
		arm  string
	}{
		{"auto: az's default", env, nil, def, ""},
		{"auto: --subscription", env, []string{"--subscription", explicit}, explicit, ""},
		{"auto: AZEXEC_SUBSCRIPTION", setEnv(env, "AZEXEC_SUBSCRIPTION="+explicit), nil, explicit, ""},
		{"auto: --arm", env, []string{"--arm"}, def, def},
		{"auto: the environment's own wins over az's default", setEnv(env, "AZURE_SUBSCRIPTION_ID="+inherited), nil, inherited, ""},
		{"none: --subscription", env, []string{"--inject", "none", "--subscription", explicit}, explicit, ""},
		{"endpoint: az's default", env, []string{"--inject", "endpoint"}, def, ""},
		{"endpoint: --subscription", env, []string{"--inject", "endpoint", "--subscription", explicit}, explicit, ""},
	}
	for _, tc := range cases {
		got := childEnv(t, tc.env, append([]string{"--identity", "cli"}, tc.args...)...)
		if got["AZURE_SUBSCRIPTION_ID"] != tc.want {
			t.Errorf("%s: child has AZURE_SUBSCRIPTION_ID=%q, want %q", tc.name, got["AZURE_SUBSCRIPTION_ID"], tc.want)
		}
		if got["ARM_SUBSCRIPTION_ID"] != tc.arm {
			t.Errorf("%s: child has ARM_SUBSCRIPTION_ID=%q, want %q", tc.name, got["ARM_SUBSCRIPTION_ID"], tc.arm)
		}
	}
	// none without --subscription hands over nothing of the identity.
	if got := childEnv(t, env, "--identity", "cli", "--inject", "none"); got["AZURE_SUBSCRIPTION_ID"] != "" {
		t.Errorf("--inject none: child has AZURE_SUBSCRIPTION_ID=%q", got["AZURE_SUBSCRIPTION_ID"])
	}
}

// TestMisspeltReferenceRefused writes the typos people make in an env file
// and checks each stops azexec before anything runs: status 2, naming the
// variable and file:line, never the value, and COMMAND never started.
func TestMisspeltReferenceRefused(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	for _, typo := range []string{"keyvalt://e2evault/db-password", "keyvault:/e2evault/db-password",
		"@Microsoft.KeyValt(VaultName=e2evault;SecretName=db-password)"} {
		file := f.writeFile(t, "typo.env", "PLAIN=value\nDB_PASSWORD="+typo+"\n")
		m := newMarker(t)
		for _, args := range [][]string{{"--env-file", file, "env"}, wrap([]string{"--env-file", file}, m.command()...)} {
			stdout, stderr, code := runAzexec(t, f.env(p.env()...), "", args...)
			if code != 2 {
				t.Errorf("%q with %q: status %d, want 2\n%s", typo, args, code, stderr)
			}
			if !strings.Contains(stderr, "DB_PASSWORD ("+file+":2)") || !strings.Contains(stderr, "azexec: hint: ") ||
				!strings.Contains(stderr, "misspelt") && !strings.Contains(stderr, `is not followed by "//"`) {
				t.Errorf("%q: the error does not name DB_PASSWORD at %s:2:\n%s", typo, file, stderr)
			}
			if strings.Contains(stdout+stderr, "db-password") || strings.Contains(stdout+stderr, "e2evault") {
				t.Errorf("%q: the value was repeated:\n%s%s", typo, stdout, stderr)
			}
		}
		if m.exists() {
			t.Errorf("%q: COMMAND ran", typo)
		}
	}
}

// TestEnvWithoutReferencesNeedsNoIdentity: printing a plain env file needs
// no Azure login, so it works on a machine with none; a reference still
// needs one.
func TestEnvWithoutReferencesNeedsNoIdentity(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	plain := f.writeFile(t, "plain.env", "GREETING=hello\n")
	stdout, stderr, code := runAzexec(t, f.env(), "", "--env-file", plain, "env")
	if code != 0 || stdout != "GREETING=hello\n" {
		t.Errorf("plain env file without an identity: status %d\n%s%s", code, stdout, stderr)
	}
	ref := f.writeFile(t, "ref.env", "DB=keyvault://e2evault/db\n")
	if _, stderr, code := runAzexec(t, f.env(), "", "--env-file", ref, "env"); code != 3 {
		t.Errorf("a reference without an identity: status %d, want 3\n%s", code, stderr)
	}
}

// TestCompletionScriptsInTheirShells sources `azexec completion bash` in a
// real bash and completes words as a user would; zsh and fish are checked
// when installed.
func TestCompletionScriptsInTheirShells(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	script, stderr, code := runAzexec(t, f.env(), "", "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: status %d\n%s", code, stderr)
	}
	file := f.writeFile(t, "azexec.bash", script)
	complete := func(words ...string) []string {
		t.Helper()
		var b strings.Builder
		b.WriteString("source " + file + "\nCOMP_WORDS=(azexec")
		for _, w := range words {
			b.WriteString(" '" + w + "'")
		}
		b.WriteString(")\nCOMP_CWORD=" + string(rune('0'+len(words))) + "\n_azexec\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
		out, err := exec.Command("/bin/bash", "--norc", "--noprofile", "-c", b.String()).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	for _, tc := range []struct {
		words   []string
		want    string
		notWant string
	}{
		{[]string{"who"}, "whoami", ""},
		{[]string{"whoami", "--"}, "--json", "--inject"},
		{[]string{"--cloud", ""}, "china", "whoami"},
		{[]string{"profile", ""}, "rotate", "whoami"},
		{[]string{"--identity", "cli", "tok"}, "token", ""},
		{[]string{"token", "--format", ""}, "exec-credential", "dotenv"},
		{[]string{"completion", ""}, "", "--identity"},
	} {
		got := complete(tc.words...)
		if tc.want != "" && !strings.Contains(" "+strings.Join(got, " ")+" ", " "+tc.want+" ") {
			t.Errorf("azexec %s<TAB> offers %q, want %q among them", strings.Join(tc.words, " "), got, tc.want)
		}
		if tc.notWant != "" && strings.Contains(" "+strings.Join(got, " ")+" ", " "+tc.notWant+" ") {
			t.Errorf("azexec %s<TAB> offers %q, which holds %q", strings.Join(tc.words, " "), got, tc.notWant)
		}
	}
	for _, sh := range []string{"zsh", "fish"} {
		out, stderr, code := runAzexec(t, f.env(), "", "completion", sh)
		if code != 0 || !strings.Contains(out, "azexec") {
			t.Errorf("completion %s: status %d\n%s", sh, code, stderr)
			continue
		}
		path, err := exec.LookPath(sh)
		if err != nil {
			continue // the shell is not installed: the script is at least written
		}
		check := "source " + f.writeFile(t, "azexec."+sh, out)
		if out, err := exec.Command(path, "-c", check).CombinedOutput(); err != nil {
			t.Errorf("%s cannot source the script: %v\n%s", sh, err, out)
		}
	}
	if _, stderr, code := runAzexec(t, f.env(), "", "completion", "tcsh"); code != 2 || !strings.Contains(stderr, "bash, zsh, fish") {
		t.Errorf("completion tcsh: status %d\n%s", code, stderr)
	}
}

// TestTokenOptionsAfterTheAlias: `azexec token aks --format json` reads
// --format after the alias, as the README says, instead of refusing it.
func TestTokenOptionsAfterTheAlias(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	stdout, stderr, code := runAzexec(t, f.env(p.env()...), "", "token", "aks", "--format", "json", "--identity", "env")
	if code != 0 || !strings.HasPrefix(stdout, "{\n  \"accessToken\": ") {
		t.Errorf("status %d\n%s", code, stderr)
	}
}
