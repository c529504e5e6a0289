package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/testenv"
)

// azexec inject, end to end: a template using the three reference syntaxes
// and env:NAME, rendered with | json and read back by jq byte for byte;
// a bad reference (exit 2, FILE:LINE:COLUMN, no request); a missing secret
// (exit 4, no file); -o inside a git work tree.

// awkward is a secret that breaks JSON and YAML unless quoted: quotes, a
// backslash, a newline, a tab, and a placeholder that must stay text.
func awkward(tag string) string {
	return tag + ` "quoted" back\slash` + "\nsecond line\t{{ env:HOME }} " + randomHex(6)
}

// templateScenario is a fake vault holding three awkward secrets, and a
// JSON template naming each in another syntax.
type templateScenario struct {
	f      *fake
	host   string // the vault's host:port
	env    []string
	tmpl   string
	values map[string]string // JSON key → the value it must read back as
}

func newTemplateScenario(t *testing.T) *templateScenario {
	t.Helper()
	f := startFake(t)
	host := f.vaultHost(t, "kv-tpl")
	sc := &templateScenario{f: f, host: host, values: map[string]string{
		"uri": awkward("uri"), "name": awkward("name"), "short": awkward("short"), "env": "from env " + randomHex(4)}}
	f.setSecret(t, "kv-tpl", "from-uri", "", sc.values["uri"])
	f.setSecret(t, "kv-tpl", "from-name", "", sc.values["name"])
	f.setSecret(t, "kv-tpl", "from-short", "", sc.values["short"])
	sc.env = kvEnv(f, f.homeSP(), consent(host), "APP_GREETING="+sc.values["env"])
	sc.tmpl = f.writeFile(t, "t.json.tmpl", fmt.Sprintf(`{
  "uri": {{ @Microsoft.KeyVault(SecretUri=https://%[1]s/secrets/from-uri) | json }},
  "name": {{@Microsoft.KeyVault(VaultName=%[1]s;SecretName=from-name)|json}},
  "short": {{ keyvault://%[1]s/from-short | json }},
  "env": {{ env:APP_GREETING | json }},
  "literal": "{{{{ not a placeholder }}"
}
`, host))
	return sc
}

// jqRaw returns what jq -j reads at path in doc.
func jqRaw(t *testing.T, doc, path string) string {
	t.Helper()
	jq, err := testenv.Lookup("jq")
	if err != nil {
		t.Fatal("jq is needed to read the rendered JSON back (apt-get install jq)")
	}
	cmd := exec.Command(jq, "-j", path)
	cmd.Stdin = strings.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq %s: %v (the output is not JSON)", path, err)
	}
	return string(out)
}

func TestInjectRendersEverySyntaxAsJSON(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	stdout, stderr, code := runAzexec(t, sc.env, "", "inject", "-i", sc.tmpl, "--log-level", "trace")
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	for key, want := range sc.values {
		if got := jqRaw(t, stdout, "."+key); got != want {
			t.Errorf("%s read back as %q, want %q", key, got, want)
		}
	}
	if got := jqRaw(t, stdout, ".literal"); got != "{{ not a placeholder }}" {
		t.Errorf("literal = %q", got)
	}
	checkNoTemplateValues(t, sc, stderr)
	if !strings.Contains(stderr, "key vault reference resolved: template="+sc.tmpl+":2:") {
		t.Errorf("the debug log does not name the template position")
	}
}

// checkNoTemplateValues fails if out holds a secret of the scenario, or a
// token the fake issued.
func checkNoTemplateValues(t *testing.T, sc *templateScenario, out string) {
	t.Helper()
	var vals []string
	for k, v := range sc.values {
		if k != "env" {
			vals = append(vals, v)
			vals = append(vals, v[strings.Index(v, "second line"):]) // each line too
		}
	}
	checkNoSecrets(t, sc.f, out, vals)
}

func TestInjectBadReferenceNamesPositionsAndSendsNothing(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	bad := sc.f.writeFile(t, "bad.tmpl", "ok: {{ env:APP_GREETING }}\n"+
		"  a: {{ keyvault://not_a_vault/x }}\n"+
		"b: {{ @Microsoft.KeyVault(SecretUri=https://login.attacker.example/secrets/x) }} c: {{ keyvault://kv-tpl/s | upper }}\n")
	for _, args := range [][]string{{"inject", "-i", bad}, {"--file", "CONF=" + bad, "--", "true"}} {
		sc.f.Reset()
		_, stderr, code := runAzexec(t, sc.env, "", args...)
		if code != 2 {
			t.Errorf("%q: status %d, want 2", args, code)
		}
		for _, pos := range []string{bad + ":2:9: ", bad + ":3:7: ", bad + ":3:88: "} {
			if !strings.Contains(stderr, pos) {
				t.Errorf("%q: the error does not name %s", args, pos)
			}
		}
		if n := len(sc.f.Requests()); n != 0 {
			t.Errorf("%q: %d requests were sent, want none", args, n)
		}
	}
}

func TestInjectMissingSecretWritesNothing(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	host := sc.host
	tmpl := sc.f.writeFile(t, "missing.tmpl", "a: {{ keyvault://"+host+"/from-short | yaml }}\nb: {{ keyvault://"+host+"/no-such-secret }}\n")
	dir := t.TempDir()
	out := filepath.Join(dir, "rendered.yaml")
	stdout, stderr, code := runAzexec(t, sc.env, "", "inject", "-i", tmpl, "-o", out, "--log-level", "trace")
	if code != 4 {
		t.Fatalf("status %d, want 4\n%s", code, stderr)
	}
	if !strings.Contains(stderr, tmpl+":2:7: ") || !strings.Contains(stderr, "no-such-secret") {
		t.Errorf("the error does not name the reference and its position")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	if stdout != "" {
		t.Errorf("stdout %q", stdout)
	}
	checkNoTemplateValues(t, sc, stderr)
}

// gitRepo makes dir a git work tree with git found by absolute path, and
// puts git on the fake's PATH for azexec (tests never find it by name).
func gitRepo(t *testing.T, f *fake, dir string) {
	t.Helper()
	git, err := testenv.Lookup("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	if err := os.Symlink(git, filepath.Join(f.binDir, "git")); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	cmd := exec.Command(git, "init", "-q", dir)
	cmd.Env = []string{"HOME=" + f.home}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
}

func TestInjectRefusesAFileGitWouldCommit(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	repo := filepath.Join(t.TempDir(), "repo")
	gitRepo(t, sc.f, repo)
	if err := os.MkdirAll(filepath.Join(repo, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(repo, "config", "appsettings.json")

	sc.f.Reset()
	_, stderr, code := runAzexec(t, sc.env, "", "inject", "-i", sc.tmpl, "-o", out)
	if code != 2 || !strings.Contains(stderr, "git does not ignore it") || !strings.Contains(stderr, ".gitignore") {
		t.Fatalf("status %d, want 2 with a hint to ignore the file\n%s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the file was written")
	}
	if n := len(sc.f.Requests()); n != 0 {
		t.Errorf("%d requests before the refusal, want none", n)
	}

	t.Run("--force", func(t *testing.T) {
		_, stderr, code := runAzexec(t, sc.env, "", "inject", "-i", sc.tmpl, "-o", out, "--force")
		if code != 0 || !strings.Contains(stderr, "azexec: warning: writing secrets to") {
			t.Fatalf("status %d, want 0 with a warning\n%s", code, stderr)
		}
		os.Remove(out)
	})
	t.Run("ignored", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("appsettings.json\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runAzexec(t, sc.env, "", "inject", "-i", sc.tmpl, "-o", out)
		if code != 0 || stderr != "" {
			t.Fatalf("status %d\n%s", code, stderr)
		}
		fi, err := os.Stat(out)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("output: %v, mode %v, want 0600", err, fi.Mode())
		}
		data, _ := os.ReadFile(out)
		if got := jqRaw(t, string(data), ".short"); got != sc.values["short"] {
			t.Errorf("short = %q", got)
		}
		entries, _ := os.ReadDir(filepath.Dir(out))
		if len(entries) != 1 {
			t.Errorf("temporary files left: %v", entries)
		}
	})
}

// TestExampleAppSettingsTemplate renders examples/appsettings.tmpl.json,
// its vault swapped for the fake's, and reads each value back with jq.
func TestExampleAppSettingsTemplate(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	src, err := os.ReadFile("../examples/appsettings.tmpl.json")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(strings.ReplaceAll(string(src), "my-app-vault.vault.azure.net", sc.host), "my-app-vault", sc.host)
	want := map[string]string{".ConnectionStrings.Default": awkward("sql"), ".Smtp.Password": awkward("smtp"), ".Stripe.ApiKey": awkward("stripe")}
	sc.f.setSecret(t, "kv-tpl", "sql-connection-string", "", want[".ConnectionStrings.Default"])
	sc.f.setSecret(t, "kv-tpl", "smtp-password", "", want[".Smtp.Password"])
	sc.f.setSecret(t, "kv-tpl", "stripe-api-key", "", want[".Stripe.ApiKey"])
	p := sc.f.homeSP()
	want[".AzureAd.ClientId"] = p.client
	tmpl := sc.f.writeFile(t, "appsettings.tmpl.json", text)
	stdout, stderr, code := runAzexec(t, kvEnv(sc.f, p, consent(sc.host)), "", "inject", "-i", tmpl)
	if code != 0 {
		t.Fatalf("status %d\n%s", code, stderr)
	}
	for path, v := range want {
		if got := jqRaw(t, stdout, path); got != v {
			t.Errorf("%s = %q, want %q", path, got, v)
		}
	}
}
