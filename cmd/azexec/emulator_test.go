package main

import (
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
)

// A reference to a vault on loopback, in any syntax, is refused unless
// --keyvault-emulator names its HOST:PORT: a usage error that lists every
// such reference and names the flag.
func TestFindReferencesNeedsEmulatorConsent(t *testing.T) {
	env := inject.NewEnv([]string{
		"REAL=keyvault://myvault/db",
		"SHORT=keyvault://localhost:8443/db",
	})
	inject.Apply(env, []inject.Var{
		{Key: "URI", Value: "@Microsoft.KeyVault(SecretUri=https://127.0.0.1:9000/secrets/db)", File: "app.env", Line: 2},
		{Key: "NAME", Value: "@Microsoft.KeyVault(VaultName=evil.localhost:8443;SecretName=db)", File: "app.env", Line: 3},
		{Key: "IPV6", Value: "keyvault://[::1]/db", File: "app.env", Line: 4},
	})
	_, err := findReferences(env, nil)
	want := "key vault references to emulators --keyvault-emulator does not name:\n" +
		"  SHORT (process environment): vault \"localhost:8443\"\n" +
		"  URI (app.env:2): vault \"127.0.0.1:9000\"\n" +
		"  NAME (app.env:3): vault \"evil.localhost:8443\"\n" +
		"  IPV6 (app.env:4): vault \"[::1]\""
	hint := "--keyvault-emulator localhost:8443,127.0.0.1:9000,evil.localhost:8443,[::1]:443 (or AZEXEC_KEYVAULT_EMULATOR)"
	if fail.KindOf(err) != fail.Usage || err.Error() != want || !strings.Contains(fail.HintOf(err), hint) {
		t.Fatalf("got %v\nhint %q\nwant %s", err, fail.HintOf(err), want)
	}

	g := globalOptions{KeyVaultEmulators: []string{"localhost:8443,127.0.0.1:9000", "[::1]:443"}}
	emulators, err := keyVaultEmulators(g)
	if err != nil {
		t.Fatal(err)
	}
	_, err = findReferences(env, emulators)
	if err == nil || !strings.Contains(err.Error(), "key vault reference to an emulator --keyvault-emulator does not name: NAME (app.env:3)") {
		t.Errorf("one left: %v", err)
	}
	env.Unset("NAME")
	if refs, err := findReferences(env, emulators); err != nil || len(refs) != 4 {
		t.Errorf("all named: %d references, %v", len(refs), err)
	}
}

func TestKeyVaultEmulatorFlag(t *testing.T) {
	for _, bad := range []string{"localhost", "example.com:8443", "10.0.0.1:8443", "localhost:8443,", "https://localhost:8443"} {
		if _, err := keyVaultEmulators(globalOptions{KeyVaultEmulators: []string{bad}}); fail.KindOf(err) != fail.Usage ||
			!strings.Contains(err.Error(), "--keyvault-emulator: \"") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
