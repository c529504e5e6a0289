package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/providers"
)

func TestFindReferencesReportsEveryMistake(t *testing.T) {
	env := inject.NewEnv([]string{
		"GOOD=keyvault://myvault/db",
		"PLAIN=hello",
		"BAD1=keyvault://my_vault/db",
	})
	inject.Apply(env, []inject.Var{
		{Key: "BAD2", Value: "@Microsoft.KeyVault(VaultName=myvault)", File: "app.env", Line: 7},
		{Key: "FILE_GOOD", Value: "@Microsoft.KeyVault(VaultName=myvault;SecretName=x)", File: "app.env", Line: 9},
	})
	_, err := findReferences(env, nil)
	want := "invalid key vault references:\n" +
		"  BAD1 (process environment): invalid vault name \"my_vault\": 3-24 letters, digits and hyphens, starting with a letter\n" +
		"  BAD2 (app.env:7): SecretName is missing"
	if fail.KindOf(err) != fail.Usage || err.Error() != want || !strings.Contains(fail.HintOf(err), "keyvault://VAULT/NAME") {
		t.Errorf("got %v\nwant %s", err, want)
	}
	env.Unset("BAD1")
	env.Unset("BAD2")
	refs, err := findReferences(env, nil)
	// The process environment first, then files by line.
	if err != nil || len(refs) != 2 || refs[0].variable != "GOOD" || refs[1].variable != "FILE_GOOD" || refs[1].origin.Line != 9 {
		t.Errorf("got %+v, %v", refs, err)
	}
}

func TestCheckFetchOptions(t *testing.T) {
	good := globalOptions{Concurrency: 16, Timeout: providers.DefaultTimeout}
	if err := checkFetchOptions(good); err != nil {
		t.Error(err)
	}
	for _, g := range []globalOptions{{Concurrency: 0, Timeout: 1}, {Concurrency: 1, Timeout: 0}} {
		if err := checkFetchOptions(g); fail.KindOf(err) != fail.Usage {
			t.Errorf("%+v: %v", g, err)
		}
	}
}

func TestFetchFailuresListEveryReference(t *testing.T) {
	r, _ := providers.ParseReference("keyvault://myvault/db")
	refs := []pendingRef{
		{variable: "A", origin: inject.Origin{Kind: inject.OriginProcess}, ref: r},
		{variable: "B", origin: inject.Origin{Kind: inject.OriginFile, File: "x.env", Line: 3}, ref: r},
		{variable: "C", origin: inject.Origin{Kind: inject.OriginProcess}, ref: r},
	}
	nf := &providers.FetchError{Ref: r, Status: 404, Code: "SecretNotFound", Reason: "no such secret or version", Hint: "check the name"}
	results := []providers.Result{{Err: nf}, {Value: "with\x00nul"}, {Value: "fine"}}
	err := fetchFailures(refs, results)
	msg := err.Error()
	for _, w := range []string{
		"key vault references not resolved (2 of 3):\n",
		"\n  A (process environment): vault \"myvault\", secret \"db\", latest version: 404 SecretNotFound: no such secret or version\n    hint: check the name",
		"\n  B (x.env:3): vault \"myvault\", secret \"db\", latest version: 200 OK: the secret holds a NUL byte",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("lacks %q:\n%s", w, msg)
		}
	}
	if fail.KindOf(err) != fail.Fetch || strings.Contains(msg, "fine") || strings.Contains(msg, "with") {
		t.Errorf("kind %v or a value in:\n%s", fail.KindOf(err), msg)
	}
	one := fetchFailures(refs[:1], results[:1])
	if one.Error() != "key vault reference not resolved: A (process environment): vault \"myvault\", secret \"db\", latest version: 404 SecretNotFound: no such secret or version" ||
		fail.HintOf(one) != "check the name" {
		t.Errorf("one failure: %v (hint %q)", one, fail.HintOf(one))
	}
}

// FuzzEnvFileReferences reads any env file as --env-file does and finds
// its references: no panic, every error a usage error, and a value that is
// not a reference is never taken for one (so it reaches the child as is).
func FuzzEnvFileReferences(f *testing.F) {
	for _, s := range []string{
		"A=keyvault://myvault/db\nB=plain\n",
		"A=\"@Microsoft.KeyVault(VaultName=myvault; SecretName=db)\"\n",
		"A='@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef)'\n",
		"A=keyvault://127.0.0.1:8443/db\nexport B=\"multi\nline\"\n",
		"A=keyvault://bad_vault/db\nB=@Microsoft.KeyVault(\n", "A=keyvault:/x\n# keyvault://a/b\n",
	} {
		f.Add([]byte(s))
	}
	p := filepath.Join(f.TempDir(), "fuzz.env")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		vars, err := inject.ReadEnvFile(p)
		if err != nil {
			if fail.KindOf(err) != fail.Usage {
				t.Fatalf("env file error of kind %v: %v", fail.KindOf(err), err)
			}
			return
		}
		env := &inject.Env{}
		inject.Apply(env, vars)
		before := env.Clone()
		refs, err := findReferences(env, providers.Emulators{"127.0.0.1:8443": true})
		if err != nil && fail.KindOf(err) != fail.Usage {
			t.Fatalf("error of kind %v: %v", fail.KindOf(err), err)
		}
		found := map[string]bool{}
		for _, r := range refs {
			found[r.variable] = true
		}
		for _, k := range before.Keys() {
			v, _ := before.Get(k)
			now, _ := env.Get(k)
			if now != v {
				t.Fatalf("%s changed while finding references", k)
			}
			if found[k] && !providers.IsReference(v) {
				t.Fatalf("%s is not a reference, but was taken for one", k)
			}
			if err == nil && providers.IsReference(v) && !found[k] {
				t.Fatalf("%s is a reference, but was not found", k)
			}
		}
	})
}

// TestExampleEnvFile keeps examples/keyvault.env valid: it reads as an env
// file and every reference in it parses.
func TestExampleEnvFile(t *testing.T) {
	vars, err := inject.ReadEnvFile("../../examples/keyvault.env")
	if err != nil {
		t.Fatal(err)
	}
	env := &inject.Env{}
	inject.Apply(env, vars)
	refs, err := findReferences(env, nil)
	if err != nil || len(refs) != 3 {
		t.Errorf("%d references, %v", len(refs), err)
	}
}
