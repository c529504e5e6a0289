package providers

import (
	"errors"
	"strings"
	"testing"
)

// TestNearMissRefused: values meant as references but misspelt are errors
// that say what is wrong without repeating the value.
func TestNearMissRefused(t *testing.T) {
	for in, want := range map[string]string{
		"keyvalt://myvault/db":                                `scheme "keyvalt"`,
		"keyvaul://myvault/db":                                `scheme "keyvaul"`,
		"kevyault://myvault/db":                               `scheme "kevyault"`,
		"KeyValt://myvault/db":                                `scheme "KeyValt"`,
		"key-vault://myvault/db":                              `scheme "key-vault"`,
		"keyvaults://myvault/db":                              `scheme "keyvaults"`,
		"keyvault:/myvault/db":                                `"keyvault:" is not followed by "//"`,
		"KeyVault:myvault/db":                                 `"KeyVault:" is not followed by "//"`,
		"  keyvault:/myvault/db\n":                            `"keyvault:" is not followed by "//"`,
		"@Microsoft.KeyValt(VaultName=myvault;SecretName=db)": `"@Microsoft.KeyValt(" looks like a misspelt`,
		"@Microsoft.KeyVaul(VaultName=myvault;SecretName=db)": `"@Microsoft.KeyVaul(" looks like a misspelt`,
		"@Microsoft.KeyVault (SecretUri=https://x)":           `"@Microsoft.KeyVault(" looks like a misspelt`,
		"@Microsfot.KeyVault(SecretUri=https://x)":            `"@Microsfot.KeyVault(" looks like a misspelt`,
		"@Microsoft.KeyVault[SecretUri=https://x]":            `@Microsoft.KeyVault is not followed by '('`,
	} {
		err := NearMiss(in)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("NearMiss(%q) = %v; want a SyntaxError with %q", in, err, want)
			continue
		}
		if strings.Contains(err.Error(), "myvault") || strings.Contains(err.Error(), "https://x") {
			t.Errorf("NearMiss(%q) repeats the value: %v", in, err)
		}
	}
}

// TestNearMissLeavesOtherValues: valid references and ordinary values,
// URLs of other schemes included, are not near misses.
func TestNearMissLeavesOtherValues(t *testing.T) {
	for _, v := range []string{
		"", "plain", "keyvault://myvault/db", "KeyVault://myvault/db", "@Microsoft.KeyVault(VaultName=v;SecretName=s)",
		"vault://secret/data/db", "kv://myvault/db", "azurekeyvault://myvault/db", "https://myvault.vault.azure.net/secrets/db",
		"keyvals: a, b", "keyvalt: the value", "keyvalt:not-a-path", "C:/Users/me", "postgres://u@h/db",
		"@Microsoft.AppConfiguration(Endpoint=x)", "@everyone", "@Microsoft", "user@example.com",
		"keyvault is the name", "mailto:keyvault@example.com",
	} {
		if err := NearMiss(v); err != nil {
			t.Errorf("NearMiss(%q) = %v; want nil", v, err)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"keyvault", "keyvault", 0}, {"keyvalt", "keyvault", 1}, {"kyevault", "keyvault", 1},
		{"vault", "keyvault", 3}, {"", "abc", 3}, {"abc", "", 3}, {"ca", "abc", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// FuzzNearMiss checks that NearMiss never panics, never refuses a value
// IsReference accepts, returns only SyntaxErrors, and never repeats what
// follows the scheme or name it names.
func FuzzNearMiss(f *testing.F) {
	for _, s := range []string{"keyvalt://a/b", "keyvault:/a/b", "@Microsoft.KeyValt(x)", "@Microsoft.KeyVault", "plain", "@", ":", "a:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		err := NearMiss(v)
		if err == nil {
			return
		}
		if IsReference(v) {
			t.Fatalf("reference %q refused: %v", v, err)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("error of type %T", err)
		}
		s := strings.TrimSpace(v)
		if i := strings.IndexAny(s, ":("); i >= 0 && len(s)-i > 8 && strings.Contains(err.Error(), s[i+1:]) {
			t.Fatalf("error %q repeats the value %q", err, v)
		}
	})
}
