package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
)

// TestProfileAddVerifiesTheSecret performs the mistake profile add must
// catch: a secret Entra ID refuses is not stored (exit 3, Entra's error,
// nothing in the config or the keyring), the right one is, after one
// token request, and --no-verify stores without any request.
func TestProfileAddVerifiesTheSecret(t *testing.T) {
	s := withServicePrincipal(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AZEXEC_KEYRING_BACKEND", "file")
	t.Setenv("AZEXEC_KEYRING_PASSWORD", "test-only-passphrase")
	const client = "0b4e3f7c-1111-2222-3333-4444555566aa"
	s.AddServicePrincipal(s.Tenant(), client, "verify-right-secret-1")
	for _, k := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"} {
		unsetForTest(t, k)
	}
	add := func(secret string, extra ...string) (string, int) {
		args := append([]string{"profile", "add", "dev", "--tenant", s.Tenant(), "--client-id", client}, extra...)
		out, errOut, code := runCLIIn(t, secret+"\n", args...)
		return out + errOut, code
	}
	before := s.CountRequests(fakeazure.KindToken)
	out, code := add("verify-wrong-secret-2")
	if code != exitIdentity || !strings.Contains(out, "AADSTS7000215") || !strings.Contains(out, "nothing was stored") {
		t.Fatalf("wrong secret: status %d\n%s", code, out)
	}
	if s.CountRequests(fakeazure.KindToken) == before {
		t.Error("the wrong secret was refused without asking Entra ID")
	}
	if out, _, _ := runCLI(t, "profile", "list"); strings.Contains(out, "dev") {
		t.Errorf("the refused profile was stored:\n%s", out)
	}
	assertNoFileHoldsAny(t, home, "verify-wrong-secret-2")

	if out, code := add("verify-right-secret-1"); code != 0 {
		t.Fatalf("right secret: status %d\n%s", code, out)
	}
	if _, errOut, code := runCLI(t, "profile", "remove", "dev"); code != 0 {
		t.Fatal(errOut)
	}
	before = s.CountRequests(fakeazure.KindToken)
	if out, code := add("not-checked-offline", "--no-verify"); code != 0 || s.CountRequests(fakeazure.KindToken) != before {
		t.Errorf("--no-verify: status %d, %d token requests\n%s", code, s.CountRequests(fakeazure.KindToken)-before, out)
	}
}

// assertNoFileHoldsAny fails if a file under dir holds secret; unlike
// assertNoFileHolds, finding no file at all is fine.
func assertNoFileHoldsAny(t *testing.T, dir, secret string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s holds the refused secret", path)
		}
		return nil
	})
}
