package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFileFlagsReportsEveryMistake(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tmpl")
	bad := filepath.Join(dir, "bad.tmpl")
	os.WriteFile(good, []byte("{{ env:HOME }}"), 0o600)
	os.WriteFile(bad, []byte("x\n {{ nope }}"), 0o600)
	files, err := parseFileFlags([]string{"CONF=" + good})
	if err != nil || len(files) != 1 || files[0].variable != "CONF" {
		t.Fatalf("files %v, err %v", files, err)
	}
	_, err = parseFileFlags([]string{"CONF=" + good, "CONF=" + good, "1X=" + good, "NOEQUALS", "IN=-", "B=" + bad, "M=" + filepath.Join(dir, "missing")})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"CONF is given twice", `"1X=`, `"NOEQUALS": want VAR=TEMPLATE`, "IN: a template cannot be stdin",
		bad + ":2:5: not a key vault reference", "cannot read the template"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%s", want, err)
		}
	}
}

// Without git on PATH, a .git above the file still refuses it: azexec
// cannot tell whether git ignores it.
func TestCheckOutputPathWithoutGit(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	os.MkdirAll(filepath.Join(repo, "sub"), 0o755)
	out := filepath.Join(repo, "sub", "secrets.json")
	if _, err := checkOutputPath(out, false); err == nil || !strings.Contains(err.Error(), "git is not installed") {
		t.Errorf("err = %v, want a refusal", err)
	}
	if warn, err := checkOutputPath(out, true); err != nil || !strings.Contains(warn, "--force") {
		t.Errorf("--force: warning %q, err %v", warn, err)
	}
	if warn, err := checkOutputPath(filepath.Join(t.TempDir(), "x.json"), false); err != nil || warn != "" {
		t.Errorf("outside a work tree: warning %q, err %v", warn, err)
	}
	if _, err := checkOutputPath(filepath.Join(repo, "no-such-dir", "x.json"), false); err == nil {
		t.Error("a missing directory was accepted")
	}
}
