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

// UntrustedVarsVar names, in the environment azexec gives COMMAND, the
// variables whose values came from an env file (comma-separated). An
// azexec run inside COMMAND (a Makefile recipe, a script) reads them as
// what they are, values from an env file, and not as its own trusted
// environment: otherwise an outer run's env file could steer an inner
// run's credential.
const UntrustedVarsVar = "AZEXEC_UNTRUSTED_VARS"

// InheritedFile is the origin named for the variables UntrustedVarsVar
// lists.
const InheritedFile = "an env file of the azexec that started this one"

// SplitInherited takes out of e the variables that UntrustedVarsVar says an
// outer azexec's env file set, and returns them as FileValues of
// InheritedFile (line 0), to be checked with this run's env files.
func (e Environ) SplitInherited() (Environ, []FileValue) {
	list := e.vars[UntrustedVarsVar]
	if list == "" {
		return e, nil
	}
	out := Environ{vars: make(map[string]string, len(e.vars))}
	for k, v := range e.vars {
		out.vars[k] = v
	}
	var vals []FileValue
	for _, name := range strings.Split(list, ",") {
		if v, ok := out.vars[name]; ok && name != "" {
			delete(out.vars, name)
			vals = append(vals, FileValue{Name: name, Value: v, File: InheritedFile})
		}
	}
	return out, vals
}

// FileSPVars are the variables a FileServicePrincipal's child environment
// holds from the file: an inner azexec must see them as untrusted too,
// even where the outer one set them again itself.
func FileSPVars() []string { return slices.Clone(fileIdentityVars) }

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
	// Terraform's azurerm provider, given ARM_CLIENT_SECRET with --arm.
	"ARM_CLIENT_CERTIFICATE_PATH", "ARM_OIDC_TOKEN_FILE_PATH",
	// az's and azd's configuration directories: the login whose refresh
	// token az and azd read there and send. A committed directory holding
	// another account's login would also be cached under the key of the
	// developer's own login (cachekey.go reads only the trusted
	// environment), to answer their later runs outside the repository.
	"AZURE_CONFIG_DIR", "AZD_CONFIG_DIR",
}

// neverVars steer every credential the child holds, not only one an env
// file brings, so an env file may never set them, whatever else it holds:
// the managed identity endpoints (the child keeps the machine's
// IDENTITY_HEADER or MSI_SECRET), and the trust roots a TLS-inspecting
// proxy would need (the child's az login goes through them). Proxy
// variables are refused by suffix (proxyVar), in any case, as Python's
// urllib reads them.
var neverVars = []string{
	"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
	"MSI_ENDPOINT", "MSI_SECRET",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
	// Where a CI job's OIDC request token, or Terraform's credentials
	// (its cloud metadata names the login endpoint), are sent.
	"ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_OIDCREQUESTURI", "ARM_OIDC_REQUEST_URL",
	"ARM_METADATA_HOSTNAME", "ARM_MSI_ENDPOINT",
}

// steeringVars decide where one service principal's secret is sent: the
// sign-in authority and the tenants a token may be asked for. An env file
// may set them only next to the secret they steer (a FileServicePrincipal
// that is actually tried; azexec then hands the child no other
// credential); otherwise a committed .env could send the developer's own
// credential to a host of its choosing.
var steeringVars = []string{
	"AZURE_AUTHORITY_HOST", "AZURE_ADDITIONALLY_ALLOWED_TENANTS", "AZURE_REGIONAL_AUTHORITY_NAME",
	"AZURE_POD_IDENTITY_AUTHORITY_HOST",
}

// proxyVar reports a proxy setting in any spelling a reader honours:
// HTTPS_PROXY, https_proxy, Https_Proxy, ALL_PROXY, NO_PROXY, ...
func proxyVar(upper string) bool { return strings.HasSuffix(upper, "_PROXY") }

// azexecVar reports azexec's own configuration (AZEXEC_*): flags' mirrors
// such as AZEXEC_AUTH_FILE or AZEXEC_IDENTITY, which an env file would
// otherwise hand to an azexec run inside COMMAND as trusted input.
func azexecVar(upper string) bool { return strings.HasPrefix(upper, "AZEXEC_") }

// SteeringVars returns the names an env file may set only next to its own
// client secret, for documentation and tests.
func SteeringVars() []string { return slices.Clone(steeringVars) }

// FileReadVars returns the names an env file may never set because azexec
// or the child would read the file they name and send it.
func FileReadVars() []string { return slices.Clone(fileReadVars) }

// NeverVars returns the other names an env file may never set (besides
// any *_PROXY and AZEXEC_* name).
func NeverVars() []string { return slices.Clone(neverVars) }

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
// Names are compared in upper case: Windows reads the environment without
// regard to case, and Python's urllib lower-cases proxy names.
func checkFileValue(v, secret FileValue, hasSecret, spTried bool) error {
	upper := strings.ToUpper(v.Name)
	sameFile := hasSecret && v.File == secret.File
	switch {
	case v.Value == "":
		// An empty value steers nothing; SDKs read it as unset.
		return nil
	case slices.Contains(fileReadVars, upper):
		return refuse(v, "names a file whose content would be sent as a credential")
	case azexecVar(upper):
		return refuse(v, "is azexec's own configuration, which only flags and azexec's environment may set")
	case proxyVar(upper):
		return refuse(v, "routes every connection of the child, the credentials it holds included, through a proxy")
	case slices.Contains(neverVars, upper):
		return refuse(v, "steers credentials the child holds besides any this file brings")
	case slices.Contains(steeringVars, upper) && !(sameFile && spTried):
		if sameFile {
			return refuse(v, "steers a credential, and the service principal in this file is not the identity used (--profile, --identity or AZURE_TOKEN_CREDENTIALS chose another)")
		}
		return refuse(v, "decides where a credential is sent, but this file does not hold the credential")
	case hasSecret && spTried && !sameFile && slices.Contains(fileIdentityVars, upper):
		return refuse(v, fmt.Sprintf("is part of a service principal whose secret is in another file (%s)", secret.where()))
	}
	return nil
}

func refuse(v FileValue, why string) error {
	if v.Line == 0 {
		return fail.New(fail.Usage, "%s, set by %s: %s", v.Name, v.File, why).
			WithHint("%s", TrustRuleHint)
	}
	return fail.New(fail.Usage, "env file %q, line %d: %s %s", v.File, v.Line, v.Name, why).
		WithHint("%s", TrustRuleHint)
}
