package tests

import (
	"strings"
	"testing"
)

// A template is untrusted input, like an env file: it may come with the
// repository. Each test here performs an attack a hostile template could
// try and fails if it works.

// {{ env:NAME }} reads the child's built environment, from which azexec's
// own secrets (the keyring passphrase, a CI job's request token) are gone.
func TestAttackTemplateReadsAzexecsOwnSecrets(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	pass, reqToken := "kr-pass-"+randomHex(10), "gh-req-"+randomHex(10)
	env := setEnv(sc.env, "AZEXEC_KEYRING_PASSWORD="+pass, "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+reqToken)
	for _, name := range []string{"AZEXEC_KEYRING_PASSWORD", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
		tmpl := sc.f.writeFile(t, "steal.tmpl", "{ \"x\": {{ env:"+name+" | json }} }\n")
		for _, args := range [][]string{{"inject", "-i", tmpl}, {"--file", "CONF=" + tmpl, "--", "sh", "-c", `cat "$CONF"`}} {
			stdout, stderr, code := runAzexec(t, env, "", append([]string{"--log-level", "trace"}, args...)...)
			if strings.Contains(stdout+stderr, pass) || strings.Contains(stdout+stderr, reqToken) {
				t.Errorf("%s reached the rendered file or a log through %q", name, args)
			}
			if code != 2 || !strings.Contains(stderr, "env:"+name+" is not set") {
				t.Errorf("%q: status %d, want 2 naming the variable as unset", args, code)
			}
		}
	}
}

// A reference to a vault on loopback would send the identity's token to
// whatever listens there: only --keyvault-emulator makes one a vault, as
// for env files. Nothing is sent, not even a token request.
func TestAttackTemplateNamesALoopbackVault(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	env := unsetEnv(sc.env, "AZEXEC_KEYVAULT_EMULATOR")
	tmpl := sc.f.writeFile(t, "loop.tmpl", "a: {{ keyvault://"+sc.host+"/from-short }}\n")
	for _, args := range [][]string{{"inject", "-i", tmpl}, {"--file", "CONF=" + tmpl, "--", "true"}} {
		sc.f.Reset()
		stdout, stderr, code := runAzexec(t, env, "", args...)
		if code != 2 || !strings.Contains(stderr, tmpl+":1:7: vault") || !strings.Contains(stderr, "--keyvault-emulator") {
			t.Errorf("%q: status %d, want 2 naming the position and --keyvault-emulator", args, code)
		}
		if n := len(sc.f.Requests()); n != 0 {
			t.Errorf("%q: %d requests sent, want none", args, n)
		}
		checkNoTemplateValues(t, sc, stdout+stderr)
	}
}

// A template has no way to read a file, and a value it receives is not a
// template: a secret holding {{ env:... }} stays text.
func TestAttackTemplateReadsFilesOrExpandsValues(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	shadow := sc.f.writeFile(t, "private.key", "PRIVATE "+randomHex(8))
	for _, p := range []string{"{{ file:" + shadow + " }}", "{{ include " + shadow + " }}", "{{ env:HOME | file }}",
		"{{ keyvault://kv-tpl/x }}{{ " + shadow + " }}"} {
		tmpl := sc.f.writeFile(t, "read.tmpl", p+"\n")
		stdout, stderr, code := runAzexec(t, sc.env, "", "inject", "-i", tmpl)
		if code != 2 || stdout != "" || strings.Contains(stderr, "PRIVATE") {
			t.Errorf("%q: status %d, want 2 and nothing of the file", p, code)
		}
	}
	sc.f.setSecret(t, "kv-tpl", "nested", "", "{{ env:AZEXEC_KEYRING_PASSWORD }}{{ env:APP_GREETING }}")
	tmpl := sc.f.writeFile(t, "nested.tmpl", "{{ keyvault://"+sc.host+"/nested }}")
	stdout, stderr, code := runAzexec(t, setEnv(sc.env, "AZEXEC_KEYRING_PASSWORD=p"), "", "inject", "-i", tmpl)
	if code != 0 || stdout != "{{ env:AZEXEC_KEYRING_PASSWORD }}{{ env:APP_GREETING }}" {
		t.Errorf("status %d, stdout %q: a value was read as a template\n%s", code, stdout, stderr)
	}
}
