package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/tests/testenv"
)

// awkward are values each format must carry byte for byte.
var awkward = []string{
	"", "plain", "with space", "  padded  ", "-----BEGIN KEY-----\nAAA\n-----END KEY-----\n", "x\n\n",
	`it's`, `"quoted"`, `ends with "`, `$HOME ${HOME} $(id) \$`, `back\slash`, `\n literally`,
	"tab\there", "cr\rlf\r\n", "# not a comment", "a #b", "pässwörd ✓ 密码", "=", "a=b", "'",
}

// readBack writes data as an env file and reads it with azexec's reader.
func readBack(t *testing.T, data []byte) map[string]string {
	t.Helper()
	return readBackAt(t, filepath.Join(t.TempDir(), "out.env"), data)
}

// readBackAt is readBack with the file's path given.
func readBackAt(t *testing.T, p string, data []byte) map[string]string {
	t.Helper()
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	vars, err := inject.ReadEnvFile(p)
	if err != nil {
		t.Fatalf("reading back:\n%s\n%v", data, err)
	}
	m := map[string]string{}
	for _, v := range vars {
		m[v.Key] = v.Value
	}
	return m
}

func awkwardVars() []envVar {
	var vars []envVar
	for i, v := range awkward {
		vars = append(vars, envVar{"V" + string(rune('A'+i)), v})
	}
	return vars
}

func TestDotenvRoundTrip(t *testing.T) {
	var b bytes.Buffer
	skipped, err := formatDotenv(&b, append(awkwardVars(), envVar{"with.dot", "ok"}, envVar{"BAD NAME", "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(skipped, ",") != "BAD NAME" {
		t.Errorf("skipped %q", skipped)
	}
	got := readBack(t, b.Bytes())
	for _, v := range awkwardVars() {
		if got[v.name] != v.value {
			t.Errorf("%s: %q, want %q", v.name, got[v.name], v.value)
		}
	}
	if !strings.Contains(b.String(), "VB=plain\n") {
		t.Errorf("a plain value is not written bare (as docker run --env-file reads it):\n%s", b.String())
	}
}

func TestDotenvRefusesWhatItCannotWrite(t *testing.T) {
	for _, v := range []string{`'"`, `ends with a quote' and "`, `both ' and trailing \`, "nul\x00byte"} {
		var b bytes.Buffer
		_, err := formatDotenv(&b, []envVar{{"OK", "fine"}, {"X", v}})
		if fail.KindOf(err) != fail.Usage || !strings.Contains(err.Error(), `"X" cannot be written in dotenv format`) || b.Len() != 0 {
			t.Errorf("%q: %v, wrote %q", v, err, b.String())
		}
	}
}

func TestShellRoundTrip(t *testing.T) {
	var b bytes.Buffer
	skipped := formatShell(&b, append(awkwardVars(), envVar{"with.dot", "x"}))
	if strings.Join(skipped, ",") != "with.dot" {
		t.Errorf("skipped %q", skipped)
	}
	out := filepath.Join(t.TempDir(), "env")
	cmd := exec.Command("sh", "-c", b.String()+"\nenv -0 > '"+out+"'")
	cmd.Env = []string{"PATH=" + testenv.Tools(t)}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("eval: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range strings.Split(string(data), "\x00") {
		k, v, _ := strings.Cut(e, "=")
		got[k] = v
	}
	for _, v := range awkwardVars() {
		if got[v.name] != v.value {
			t.Errorf("%s: %q, want %q", v.name, got[v.name], v.value)
		}
	}
}

func TestJSONFormat(t *testing.T) {
	var b bytes.Buffer
	if err := formatEnvJSON(&b, awkwardVars()); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, v := range awkwardVars() {
		if got[v.name] != v.value {
			t.Errorf("%s: %q, want %q", v.name, got[v.name], v.value)
		}
	}
	if strings.Contains(b.String(), `\u003c`) {
		t.Error("HTML escaping")
	}
	if err := formatEnvJSON(&b, []envVar{{"X", "\xff"}}); fail.KindOf(err) != fail.Usage {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

// FuzzDotenvRoundTrip checks that whatever formatDotenv writes, azexec's
// own env-file reader (and so godotenv) reads back exactly; a value it
// cannot write must be refused, never altered.
func FuzzDotenvRoundTrip(f *testing.F) {
	for _, v := range awkward {
		f.Add(v)
	}
	p := filepath.Join(f.TempDir(), "out.env") // one file per worker: calls are sequential
	f.Fuzz(func(t *testing.T, value string) {
		var b bytes.Buffer
		if _, err := formatDotenv(&b, []envVar{{"A", "first"}, {"V", value}, {"Z", "last"}}); err != nil {
			if fail.KindOf(err) != fail.Usage {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		got := readBackAt(t, p, b.Bytes())
		if got["V"] != value || got["A"] != "first" || got["Z"] != "last" || len(got) != 3 {
			t.Fatalf("wrote %q, read back %q", b.String(), got)
		}
	})
}
