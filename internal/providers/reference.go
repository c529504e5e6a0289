package providers

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/azexec/azexec/internal/resolve"
)

// This file reads Key Vault references: the two App Service forms, so that
// an app's own settings work unchanged under azexec, and a short form for
// hand-written files. Parsing never touches the network and never returns
// the text it was given: a reference is not a secret, but the value of a
// variable that only looks like one might be.

// Form is the syntax a reference was written in.
type Form string

// The reference syntaxes.
const (
	// FormSecretURI is @Microsoft.KeyVault(SecretUri=https://V.vault.azure.net/secrets/N[/VER]).
	FormSecretURI Form = "SecretUri"
	// FormVaultName is @Microsoft.KeyVault(VaultName=V;SecretName=N[;SecretVersion=VER]).
	FormVaultName Form = "VaultName"
	// FormShort is keyvault://V/N[/VER].
	FormShort Form = "keyvault://"
)

// Reference names one secret (and optionally one version) in one vault.
// Exactly one of VaultName and Host is set.
type Reference struct {
	Form Form
	// VaultName is a vault's name, which the selected cloud's DNS suffix
	// turns into a host (myvault → myvault.vault.azure.net).
	VaultName string
	// Host is a vault's host (and port, for an emulator on loopback) when
	// the reference names one instead of a vault name.
	Host    string
	Secret  string
	Version string // "" means the latest version
}

// Syntax is the text the hints show for the three forms.
const Syntax = "@Microsoft.KeyVault(SecretUri=https://VAULT.vault.azure.net/secrets/NAME[/VERSION]), " +
	"@Microsoft.KeyVault(VaultName=VAULT;SecretName=NAME[;SecretVersion=VERSION]) or keyvault://VAULT/NAME[/VERSION]"

const (
	appServicePrefix = "@microsoft.keyvault("
	shortPrefix      = "keyvault://"
)

// SyntaxError says why a value that is a reference cannot be used. Its
// message names keys, vaults and secrets, never the whole value.
type SyntaxError struct {
	Reason string
}

func (e *SyntaxError) Error() string { return e.Reason }

func syntaxError(format string, args ...any) error {
	return &SyntaxError{Reason: fmt.Sprintf(format, args...)}
}

// IsReference reports whether value is written as a Key Vault reference:
// after surrounding white space, it starts with @Microsoft.KeyVault( or
// keyvault:// (in any case). Such a value must parse; any other value is
// not a reference and is passed on exactly as it is.
func IsReference(value string) bool {
	v := strings.TrimLeft(value, " \t\r\n")
	return hasPrefixFold(v, appServicePrefix) || hasPrefixFold(v, shortPrefix)
}

// ParseReference parses a value that IsReference accepted. It checks
// everything that can be checked without the network: the form, the keys,
// the vault (a name, a Key Vault or Managed HSM host, or a loopback host),
// the secret name and the version.
func ParseReference(value string) (Reference, error) {
	v := strings.TrimSpace(value)
	switch {
	case hasPrefixFold(v, appServicePrefix):
		return parseAppService(v[len(appServicePrefix):])
	case hasPrefixFold(v, shortPrefix):
		return parseShort(v[len(shortPrefix):])
	}
	return Reference{}, syntaxError("not a key vault reference")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseAppService parses what follows "@Microsoft.KeyVault(": KEY=VALUE
// pairs separated by ';', then ')'. Keys are case-insensitive and white
// space around keys and values is ignored, as App Service reads them.
func parseAppService(rest string) (Reference, error) {
	body, ok := strings.CutSuffix(rest, ")")
	if !ok {
		return Reference{}, syntaxError("@Microsoft.KeyVault( is not closed with ')'")
	}
	kv, err := appServicePairs(body)
	if err != nil {
		return Reference{}, err
	}
	if uri, ok := kv["secreturi"]; ok {
		if len(kv) > 1 {
			return Reference{}, syntaxError("SecretUri cannot be combined with VaultName, SecretName or SecretVersion")
		}
		return parseSecretURI(uri)
	}
	return vaultNameReference(kv)
}

// appServiceKeys are the keys App Service accepts, by lower-case name.
var appServiceKeys = map[string]string{
	"secreturi": "SecretUri", "vaultname": "VaultName", "secretname": "SecretName", "secretversion": "SecretVersion",
}

// appServicePairs splits KEY=VALUE;KEY=VALUE into a map by lower-case key.
// Empty segments (a trailing ';') are ignored.
func appServicePairs(body string) (map[string]string, error) {
	kv := make(map[string]string)
	for _, seg := range strings.Split(body, ";") {
		if strings.TrimSpace(seg) == "" {
			continue
		}
		k, v, ok := strings.Cut(seg, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		key := strings.ToLower(k)
		if _, known := appServiceKeys[key]; !known {
			return nil, syntaxError("unknown key %q in @Microsoft.KeyVault(...)", k)
		}
		if !ok || v == "" {
			return nil, syntaxError("%s has no value", appServiceKeys[key])
		}
		if _, dup := kv[key]; dup {
			return nil, syntaxError("%s is given twice", appServiceKeys[key])
		}
		kv[key] = v
	}
	if len(kv) == 0 {
		return nil, syntaxError("@Microsoft.KeyVault() names no secret")
	}
	return kv, nil
}

// vaultNameReference builds the VaultName form from its keys.
func vaultNameReference(kv map[string]string) (Reference, error) {
	vault, name := kv["vaultname"], kv["secretname"]
	switch {
	case vault == "":
		return Reference{}, syntaxError("VaultName is missing (or give SecretUri)")
	case name == "":
		return Reference{}, syntaxError("SecretName is missing")
	}
	r := Reference{Form: FormVaultName}
	if err := r.setVault(vault); err != nil {
		return Reference{}, err
	}
	return r, r.setSecret(name, kv["secretversion"])
}

// parseSecretURI reads https://HOST/secrets/NAME[/VERSION][/].
func parseSecretURI(uri string) (Reference, error) {
	const shape = "SecretUri must look like https://VAULT.vault.azure.net/secrets/NAME[/VERSION]"
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return Reference{}, syntaxError("%s", shape)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawPath != "" {
		return Reference{}, syntaxError("%s (no query, fragment or escapes)", shape)
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if n := len(parts); n > 1 && parts[n-1] == "" {
		parts = parts[:n-1] // one trailing slash
	}
	if len(parts) < 2 || len(parts) > 3 || !strings.EqualFold(parts[0], "secrets") {
		return Reference{}, syntaxError("%s", shape)
	}
	r := Reference{Form: FormSecretURI}
	if err := r.setHost(u.Host); err != nil {
		return Reference{}, err
	}
	version := ""
	if len(parts) == 3 {
		version = parts[2]
	}
	return r, r.setSecret(parts[1], version)
}

// parseShort reads what follows "keyvault://": VAULT/NAME[/VERSION].
func parseShort(rest string) (Reference, error) {
	const shape = "a short reference looks like keyvault://VAULT/NAME[/VERSION]"
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Reference{}, syntaxError("%s", shape)
	}
	r := Reference{Form: FormShort}
	if err := r.setVault(parts[0]); err != nil {
		return Reference{}, err
	}
	version := ""
	if len(parts) == 3 {
		version = parts[2]
		if version == "" {
			return Reference{}, syntaxError("%s (nothing after the last '/')", shape)
		}
	}
	return r, r.setSecret(parts[1], version)
}

// setVault takes a vault name, or a host when the text holds a '.' or a
// ':' (which no vault name does) or is localhost.
func (r *Reference) setVault(v string) error {
	if strings.ContainsAny(v, ".:[") || strings.EqualFold(v, "localhost") {
		return r.setHost(v)
	}
	if !vaultNameRE.MatchString(v) || strings.Contains(v, "--") {
		return syntaxError("invalid vault name %q: 3-24 letters, digits and hyphens, starting with a letter", v)
	}
	r.VaultName = v
	return nil
}

// setHost takes a Key Vault or Managed HSM host of any cloud (no port), or
// a loopback host with any port, for emulators.
func (r *Reference) setHost(h string) error {
	if isLoopbackHost(h) {
		r.Host = strings.ToLower(h)
		return nil
	}
	label, suffix, _ := strings.Cut(strings.ToLower(h), ".")
	if !isVaultSuffix(suffix) || !vaultNameRE.MatchString(label) || strings.Contains(label, "--") {
		return syntaxError("%q is not a key vault host: use VAULT.%s (or the suffix of another cloud, or managedhsm), "+
			"or localhost or a loopback address for an emulator", h, resolve.Clouds["public"].KeyVaultSuffix)
	}
	r.Host = label + "." + suffix
	return nil
}

// setSecret checks a secret name and an optional version.
func (r *Reference) setSecret(name, version string) error {
	if !secretNameRE.MatchString(name) {
		return syntaxError("invalid secret name %q: 1-127 letters, digits and hyphens", name)
	}
	if version != "" && !versionRE.MatchString(version) {
		return syntaxError("invalid secret version %q: a version is 32 hexadecimal digits", version)
	}
	r.Secret, r.Version = name, strings.ToLower(version)
	return nil
}

// The name rules of Key Vault, written as loops rather than regular
// expressions: bounded repetitions such as {1,127} compile into large
// automata, which cost every azexec start about a millisecond.
var (
	vaultNameRE  = nameRule{min: 3, max: 24, first: isLetter, middle: isAlnumOrDash, last: isAlnum}
	secretNameRE = nameRule{min: 1, max: 127, first: isAlnumOrDash, middle: isAlnumOrDash, last: isAlnumOrDash}
	versionRE    = nameRule{min: 32, max: 32, first: isHex, middle: isHex, last: isHex}
)

// hsmSuffixes are the Managed HSM DNS suffixes, which azcore's cloud
// configuration does not list either.
var hsmSuffixes = []string{"managedhsm.azure.net", "managedhsm.azure.cn", "managedhsm.usgovcloudapi.net"}

// isVaultSuffix reports whether s is the Key Vault or Managed HSM DNS
// suffix of a known cloud.
func isVaultSuffix(s string) bool {
	for _, c := range resolve.Clouds {
		if s == c.KeyVaultSuffix {
			return true
		}
	}
	for _, h := range hsmSuffixes {
		if s == h {
			return true
		}
	}
	return false
}

// isLoopbackHost reports whether hostport (a URL's host, with an optional
// port) is localhost, a name under .localhost (RFC 6761, as Lowkey Vault
// uses), or a loopback IP address: where an emulator listens.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		if !validPort(port) {
			return false
		}
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	lower := strings.ToLower(host)
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") && hostLabelsRE.MatchString(lower) {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && !strings.Contains(host, "%")
}

var hostLabelsRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+localhost$`)

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n > 0 && n < 65536
}

// Emulator reports whether the vault is on loopback by its name: an
// emulator, which is used only when the user names it (Emulators) and
// then under the checks of emulator.go instead of the SDK's challenge
// check. The name alone proves nothing: the address is checked when the
// connection is made.
func (r Reference) Emulator() bool { return r.Host != "" && isLoopbackHost(r.Host) }

// Vault names the vault for messages: its name, or its host.
func (r Reference) Vault() string {
	if r.VaultName != "" {
		return r.VaultName
	}
	return r.Host
}

// VaultURL is the vault's URL in cloud c: a vault name takes the cloud's
// DNS suffix, a host is used as written.
func (r Reference) VaultURL(c resolve.Cloud) string {
	if r.Host != "" {
		return "https://" + r.Host
	}
	return "https://" + strings.ToLower(r.VaultName) + "." + c.KeyVaultSuffix
}

// Key identifies the secret version a reference asks for in cloud c, so
// that identical references (in any form or case) are fetched once.
func (r Reference) Key(c resolve.Cloud) string {
	return strings.ToLower(r.VaultURL(c) + "/secrets/" + r.Secret + "/" + r.Version)
}

// VersionLabel names the version for messages.
func (r Reference) VersionLabel() string {
	if r.Version == "" {
		return "latest version"
	}
	return "version " + r.Version
}

// nameRule is a length range and the bytes allowed first, in the middle
// and last.
type nameRule struct {
	min, max            int
	first, middle, last func(byte) bool
}

// MatchString reports whether s follows the rule.
func (r nameRule) MatchString(s string) bool {
	if len(s) < r.min || len(s) > r.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		ok := r.middle
		switch i {
		case 0:
			ok = r.first
		case len(s) - 1:
			ok = r.last
		}
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool      { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool       { return isLetter(c) || c >= '0' && c <= '9' }
func isAlnumOrDash(c byte) bool { return isAlnum(c) || c == '-' }
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
