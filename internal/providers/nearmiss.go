package providers

import (
	"strings"
)

// This file catches values that were meant as Key Vault references but are
// not written as one: keyvalt://vault/db, keyvault:/vault/db,
// @Microsoft.KeyValt(...). IsReference rightly passes such a value on
// unchanged, so the child would get the reference text where it expected
// the secret, and fail far from the typo. A near miss is an error instead.
//
// False positives would refuse a legitimate value, so the rules are
// narrow: the value (without surrounding white space) must start with a
// scheme within two edits of "keyvault" followed by ":/", or with
// "keyvault:" in any case without "//", or with "@" and a name within two
// edits of Microsoft.KeyVault before "(", or with @Microsoft.KeyVault not
// followed by "(". Short forms must hold no white space, as no reference
// does. vault://, kv:// and other schemes are more than two edits away.

const (
	shortScheme    = "keyvault"
	appServiceName = "microsoft.keyvault"
	// maxEdits is how far a misspelling may be: one slip of a finger, or
	// two letters swapped.
	maxEdits = 2
)

// NearMiss returns a *SyntaxError when value looks like a misspelt Key
// Vault reference, and nil otherwise (for a valid reference too). Its
// message names the misspelt scheme or name, never the rest of the value.
func NearMiss(value string) error {
	if IsReference(value) {
		return nil
	}
	v := strings.TrimSpace(value)
	if strings.HasPrefix(v, "@") {
		return appServiceNearMiss(v[1:])
	}
	return shortNearMiss(v)
}

// shortNearMiss checks SCHEME:REST against keyvault://.
func shortNearMiss(v string) error {
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok || rest == "" || len(scheme) > len(shortScheme)+maxEdits || !isScheme(scheme) ||
		strings.ContainsAny(v, " \t\r\n") {
		return nil
	}
	lower := strings.ToLower(scheme)
	switch d := editDistance(lower, shortScheme); {
	case d == 0:
		return syntaxError("%q is not followed by \"//\": a short reference is keyvault://VAULT/NAME[/VERSION]", scheme+":")
	case d <= maxEdits && strings.HasPrefix(rest, "/"):
		return syntaxError("the scheme %q looks like a misspelt \"keyvault\": a short reference is keyvault://VAULT/NAME[/VERSION]", scheme)
	}
	return nil
}

// appServiceNearMiss checks what follows "@" against Microsoft.KeyVault(.
func appServiceNearMiss(v string) error {
	name, _, paren := strings.Cut(v, "(")
	name = strings.TrimSpace(name)
	if !paren {
		if hasPrefixFold(v, appServiceName) {
			return syntaxError("@Microsoft.KeyVault is not followed by '(': write @Microsoft.KeyVault(SecretUri=...) or @Microsoft.KeyVault(VaultName=...;SecretName=...)")
		}
		return nil
	}
	if len(name) > len(appServiceName)+maxEdits {
		return nil
	}
	if d := editDistance(strings.ToLower(name), appServiceName); d <= maxEdits {
		return syntaxError("%q looks like a misspelt \"@Microsoft.KeyVault(\"", "@"+name+"(")
	}
	return nil
}

// isScheme reports whether s is a URI scheme (RFC 3986): a letter, then
// letters, digits, '+', '-' or '.'.
func isScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune("+-.", rune(s[i])) {
			return false
		}
	}
	return true
}

// editDistance is the optimal string alignment distance of a and b: the
// insertions, deletions, substitutions and swaps of adjacent bytes that
// turn one into the other. Callers bound the lengths (a few dozen bytes).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
