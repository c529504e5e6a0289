package template

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/azexec/azexec/internal/providers"
)

type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }

const hostile = "a \"quoted\" \\ back\nslash\t{{ env:HOME }}: - [x]\r\n# end"

func mustRef(t *testing.T, s string) providers.Reference {
	t.Helper()
	r, err := providers.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestThreeSyntaxesAndFilters(t *testing.T) {
	src := `{"a": {{ keyvault://myvault/alpha | json }},
 "b": {{@Microsoft.KeyVault(VaultName=myvault;SecretName=beta)|json}},
 "c": {{ @Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/gamma) | json }},
 "d": {{ env:USER_NAME | json }}, "e": "{{ keyvault://myvault/alpha | base64 }}", "lit": "{{{{x}}"}`
	tpl, err := Parse("t.json.tmpl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tpl.References()); n != 3 {
		t.Fatalf("%d references, want 3 (alpha named twice)", n)
	}
	secrets := map[providers.Reference]string{
		mustRef(t, "keyvault://myvault/alpha"):                                                     hostile,
		mustRef(t, "@Microsoft.KeyVault(VaultName=myvault;SecretName=beta)"):                       "β \u2028 \x01",
		mustRef(t, "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/gamma)"): `</script>&`,
	}
	out, err := tpl.Render(Values{Secrets: secrets, Env: mapEnv{"USER_NAME": "o'neil"}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	want := map[string]string{"a": hostile, "b": "β \u2028 \x01", "c": `</script>&`, "d": "o'neil",
		"e": base64.StdEncoding.EncodeToString([]byte(hostile)), "lit": "{{x}}"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestYAMLFilterRoundTrips(t *testing.T) {
	tpl, err := Parse("t.yaml", []byte("key: {{ keyvault://myvault/alpha | yaml }}\nother: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{hostile, "", "null", "- x", "'", "é\u0085\u2029\ufeff\x7f\x00", "true", "* &a !tag %"} {
		out, err := tpl.Render(Values{Secrets: map[providers.Reference]string{tpl.References()[0]: v}})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := yaml.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q: not YAML: %v\n%s", v, err, out)
		}
		if got["key"] != v || got["other"] != 1 {
			t.Errorf("%q read back as %q", v, got["key"])
		}
	}
}

func TestEveryProblemHasItsPosition(t *testing.T) {
	src := "ok {{ env:A }}\n  x {{ keyvault://bad_vault/s }} y\n\t{{ file:/etc/passwd }}é {{ keyvalt://v/s }}\n{{ env:A | upper }} {{ }} {{ keyvault://myvault/s"
	_, err := Parse("conf.tmpl", []byte(src))
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	want := []string{"conf.tmpl:2:8: ", "conf.tmpl:3:5: ", "conf.tmpl:3:29: ", "conf.tmpl:4:4: ", "conf.tmpl:4:21: ", "conf.tmpl:4:27: "}
	lines := strings.Split(e.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(lines), e)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	if strings.Contains(e.Error(), "/etc/passwd") {
		t.Errorf("the error quotes the template's text: %s", e)
	}
}

// A value is inserted once: placeholders it holds stay text.
func TestValuesAreNotExpandedAgain(t *testing.T) {
	tpl, err := Parse("t", []byte("{{ keyvault://myvault/a }}"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(Values{Secrets: map[providers.Reference]string{tpl.References()[0]: "{{ env:SECRET }}{{{{"},
		Env: mapEnv{"SECRET": "leaked"}})
	if err != nil || string(out) != "{{ env:SECRET }}{{{{" {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestRenderNamesMissingValuesNotValues(t *testing.T) {
	tpl, err := Parse("t", []byte("{{ env:MISSING }}\n{{ keyvault://myvault/a }}"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(Values{Env: mapEnv{}})
	if err == nil || out != nil {
		t.Fatalf("rendered %q", out)
	}
	if got := err.Error(); !strings.Contains(got, "t:1:4: env:MISSING is not set") || !strings.Contains(got, "t:2:4: ") {
		t.Errorf("error = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "{{", "{{{{", "}}", "a {{ env:X }} b", "{{ keyvault://v/s | json | base64 }}",
		"{{ @Microsoft.KeyVault(VaultName=vv1;SecretName=s) }}", "é\n{{ x }}\n{{{ env:A }}}", "{{ env:A |", "{{{{{{ env:A }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse("f", []byte(src))
		if err != nil {
			e := err.(*Error)
			if len(e.Problems) == 0 {
				t.Fatal("an error without a problem")
			}
			for _, p := range e.Problems {
				if p.Pos.Line < 1 || p.Pos.Col < 1 {
					t.Fatalf("bad position %+v", p.Pos)
				}
			}
			return
		}
		secrets := make(map[providers.Reference]string)
		for _, r := range tpl.References() {
			secrets[r] = "S"
		}
		env := mapEnv{}
		for _, n := range tpl.EnvNames() {
			env[n] = "E"
		}
		out, err := tpl.Render(Values{Secrets: secrets, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		if len(tpl.References()) == 0 && len(tpl.EnvNames()) == 0 && string(out) != strings.ReplaceAll(src, "{{{{", "{{") {
			t.Fatalf("text without placeholders changed: %q → %q", src, out)
		}
	})
}

// JSON and YAML are Unicode text: a value that is not UTF-8 would come
// back as other bytes, so it is an error, and base64 still carries it.
func TestTextFiltersRefuseInvalidUTF8(t *testing.T) {
	tpl, err := Parse("t", []byte("{{ env:RAW | json }} {{ env:RAW | yaml }} {{ env:RAW | base64 | json }}"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(Values{Env: mapEnv{"RAW": "a\xffb"}})
	if err == nil || len(err.(*Error).Problems) != 2 || !strings.Contains(err.Error(), "t:1:4: the value is not valid UTF-8") {
		t.Fatalf("err = %v", err)
	}
}
