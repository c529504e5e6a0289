package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesMakefile runs examples/Makefile's runnable targets as a user
// would, with azexec as AZEXEC: whoami, and env.resolved, which must leave
// no file behind when a secret cannot be read (otherwise the next make
// calls an empty file up to date) and a 0600 file when all are read.
func TestExamplesMakefile(t *testing.T) {
	t.Parallel()
	makePath := ""
	for _, p := range []string{"/usr/bin/make", "/bin/make", "/usr/local/bin/make"} {
		if _, err := os.Stat(p); err == nil {
			makePath = p
			break
		}
	}
	if makePath == "" {
		t.Skip("no make on this machine")
	}
	f := startFake(t)
	p := f.newSP()
	p.tenant = f.Tenant()
	f.AddServicePrincipal(p.tenant, p.client, p.secret)
	host := f.vaultHost(t, "kv-make")
	value := "make-value-" + randomHex(8)
	f.setSecret(t, "kv-make", "present", "", value)

	dir := t.TempDir()
	mk, err := os.ReadFile("../examples/Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), mk, 0o644); err != nil {
		t.Fatal(err)
	}
	env := kvEnv(f, p, consent(host)) // the fake's vault is on loopback: an emulator
	runMake := func(target string) (string, error) {
		cmd := exec.Command(makePath, "-C", dir, target, "AZEXEC="+azexecBin)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := runMake("whoami"); err != nil || !strings.Contains(out, p.client) {
		t.Errorf("make whoami: %v\n%s", err, out)
	}

	resolved := filepath.Join(dir, "env.resolved")
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(dir, "keyvault.env"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("PRESENT=keyvault://" + host + "/present\nMISSING=keyvault://" + host + "/missing\n")
	for i := range 2 { // the second make must try again, not call it up to date
		out, err := runMake("env.resolved")
		if err == nil {
			t.Fatalf("make env.resolved #%d succeeded with a missing secret:\n%s", i+1, out)
		}
		if _, err := os.Stat(resolved); err == nil {
			t.Fatalf("make env.resolved #%d left %s behind", i+1, resolved)
		}
		if strings.Contains(out, value) {
			t.Errorf("make output holds the secret")
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "env.resolved*")); len(matches) > 0 {
		t.Errorf("files left behind: %v", matches)
	}

	write("PRESENT=keyvault://" + host + "/present\n")
	if out, err := runMake("env.resolved"); err != nil {
		t.Fatalf("make env.resolved: %v\n%s", err, out)
	}
	info, err := os.Stat(resolved)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(resolved)
	if info.Mode().Perm() != 0o600 || !strings.Contains(string(b), value) {
		t.Errorf("env.resolved mode %v, holds the value: %v", info.Mode().Perm(), strings.Contains(string(b), value))
	}
}
