package resolve

import (
	"fmt"
	"slices"
	"strings"

	"github.com/azexec/azexec/internal/fail"
)

// Environ is azexec's own process environment: the only environment a
// source may read its configuration from. It is a type of its own, with no
// conversion from the child's environment (inject.Env, which env files
// feed), so that a value from an env file cannot reach a source by
// accident: the compiler keeps the line the trust model draws.
//
// Build it with ProcessEnviron from os.Environ(), and nothing else.
type Environ struct {
	vars map[string]string
}

// ProcessEnviron builds an Environ from azexec's own os.Environ()-style
// environment. Pass it nothing an env file, a template or a repository
// supplied: those are not trusted (see the package documentation).
func ProcessEnviron(environ []string) Environ {
	e := Environ{vars: make(map[string]string, len(environ))}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			e.vars[k] = v
		}
	}
	return e
}

// Lookup returns the value of k and whether it is set, like os.LookupEnv.
func (e Environ) Lookup(k string) (string, bool) {
	v, ok := e.vars[k]
	return v, ok
}

// Get returns the value of k, or "".
func (e Environ) Get(k string) string { return e.vars[k] }

// FileValue is one assignment read from an env file: an untrusted input.
// File and Line say where it is, so that a refusal can point at it
// without showing the value.
type FileValue struct {
	Name, Value string
	File        string
	Line        int
}

func (v FileValue) where() string { return fmt.Sprintf("%s:%d", v.File, v.Line) }

// FileServicePrincipal is a service principal an env file declares with
// its own client secret. The secret came from that file, so the file may
// also say where it goes: its tenant, client id, authority host and
// additionally allowed tenants are read from the same file (or, where the
// file is silent, from the trusted environment). Nothing else an env file
// holds steers a credential.
type FileServicePrincipal struct {
	File           string // the env file that holds the secret
	TenantID       string
	ClientID       string
	ClientSecret   Secret
	AuthorityHost  string
	AllowedTenants string
}

// fileIdentityVars are the variables a FileServicePrincipal takes from
// the file that holds its secret. Set in any other env file, they would
// join an identity to a secret they did not come with.
var fileIdentityVars = []string{
	"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
	"AZURE_AUTHORITY_HOST", "AZURE_ADDITIONALLY_ALLOWED_TENANTS",
}

// fileReadVars name a file whose content azexec, or the child's SDK, reads
// and sends as a credential. An env file may never set them: a pull
// request could point them at ~/.ssh/id_ed25519.
var fileReadVars = []string{
	"AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_AUTH_LOCATION",
}

// steeringVars decide where a credential is sent: the sign-in authority,
// the tenants a token may be asked for, the managed identity endpoints,
// and proxies. An env file may set them only next to the secret they
// steer (a FileServicePrincipal that is actually tried); otherwise a
// committed .env could send the developer's own credential, or the
// child's, to a host of its choosing.
var steeringVars = []string{
	"AZURE_AUTHORITY_HOST", "AZURE_ADDITIONALLY_ALLOWED_TENANTS", "AZURE_REGIONAL_AUTHORITY_NAME",
	"AZURE_POD_IDENTITY_AUTHORITY_HOST",
	"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
	"MSI_ENDPOINT", "MSI_SECRET",
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
	"http_proxy", "https_proxy", "all_proxy", "no_proxy",
}

// SteeringVars returns the names an env file may set only next to its own
// client secret, for documentation and tests.
func SteeringVars() []string { return slices.Clone(steeringVars) }

// FileReadVars returns the names an env file may never set.
func FileReadVars() []string { return slices.Clone(fileReadVars) }

// TrustRuleHint is the rule, in one line, for hints and documentation.
const TrustRuleHint = "env files may give the child values, but never decide where a credential is sent or which file is read and sent; " +
	"set this in azexec's own environment (the shell, CI settings) instead, or keep a whole service principal " +
	"(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) in one env file (see docs/security.md)"

// CheckEnvFiles applies the trust rule to the assignments of every env
// file, in the order they are applied (a later one wins). spTried says
// whether a service principal from an env file would be tried at all:
// the env source is selected (no --profile, and --identity and
// AZURE_TOKEN_CREDENTIALS allow it).
//
// It returns the env file's service principal when one file holds
// AZURE_CLIENT_SECRET and spTried, and a usage error naming FILE:LINE for
// the first assignment the rule refuses:
//   - a variable that names a file to read and send (fileReadVars), always;
//   - a variable that steers a credential (steeringVars) that is not in the
//     same file as the client secret azexec will try;
//   - part of a service principal (fileIdentityVars) in another file than
//     its secret.
func CheckEnvFiles(vals []FileValue, spTried bool) (*FileServicePrincipal, error) {
	win := make(map[string]FileValue)
	var order []string
	for _, v := range vals {
		if _, seen := win[v.Name]; !seen {
			order = append(order, v.Name)
		}
		win[v.Name] = v
	}
	secret, hasSecret := win["AZURE_CLIENT_SECRET"]
	hasSecret = hasSecret && secret.Value != ""
	for _, name := range order {
		v := win[name]
		if err := checkFileValue(v, secret, hasSecret, spTried); err != nil {
			return nil, err
		}
	}
	if !hasSecret || !spTried {
		return nil, nil
	}
	sp := &FileServicePrincipal{File: secret.File, ClientSecret: Secret(secret.Value)}
	from := func(name string) string {
		if v, ok := win[name]; ok && v.File == secret.File {
			return v.Value
		}
		return ""
	}
	sp.TenantID, sp.ClientID = from("AZURE_TENANT_ID"), from("AZURE_CLIENT_ID")
	sp.AuthorityHost, sp.AllowedTenants = from("AZURE_AUTHORITY_HOST"), from("AZURE_ADDITIONALLY_ALLOWED_TENANTS")
	return sp, nil
}

// checkFileValue refuses one winning assignment that the rule forbids.
func checkFileValue(v, secret FileValue, hasSecret, spTried bool) error {
	sameFile := hasSecret && v.File == secret.File
	switch {
	case v.Value == "":
		// An empty value steers nothing; SDKs read it as unset.
		return nil
	case slices.Contains(fileReadVars, v.Name):
		return refuse(v, "names a file whose content would be sent as a credential")
	case slices.Contains(steeringVars, v.Name) && !(sameFile && spTried):
		if sameFile {
			return refuse(v, "steers a credential, and the service principal in this file is not the identity used (--profile, --identity or AZURE_TOKEN_CREDENTIALS chose another)")
		}
		return refuse(v, "decides where a credential is sent, but this file does not hold the credential")
	case hasSecret && spTried && !sameFile && slices.Contains(fileIdentityVars, v.Name):
		return refuse(v, fmt.Sprintf("is part of a service principal whose secret is in another file (%s)", secret.where()))
	}
	return nil
}

func refuse(v FileValue, why string) error {
	return fail.New(fail.Usage, "env file %q, line %d: %s %s", v.File, v.Line, v.Name, why).
		WithHint("%s", TrustRuleHint)
}
