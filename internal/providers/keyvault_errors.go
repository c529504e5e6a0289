package providers

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azexec/azexec/internal/redact"
	"github.com/azexec/azexec/internal/resolve"
)

// FetchError is why one reference could not be read: the vault, secret and
// version, the HTTP status when the vault answered, Key Vault's error code,
// and a hint that says what to fix. It never holds a secret value.
type FetchError struct {
	Ref      Reference
	VaultURL string
	Status   int    // the last HTTP status; 0 when no answer came
	Code     string // Key Vault's error code, e.g. SecretNotFound, or its inner code, e.g. SecretDisabled
	Reason   string // what went wrong, in a few words
	Hint     string
	Err      error
}

// Error reads `vault "v", secret "s", latest version: 404 SecretNotFound:
// no such secret or version`.
func (e *FetchError) Error() string {
	what := fmt.Sprintf("vault %q, secret %q, %s", e.Ref.Vault(), e.Ref.Secret, e.Ref.VersionLabel())
	status := "no response"
	if e.Status != 0 {
		status = fmt.Sprintf("%d", e.Status)
		if e.Code != "" {
			status += " " + e.Code
		} else {
			status += " " + http.StatusText(e.Status)
		}
	}
	return what + ": " + status + ": " + e.Reason
}

// Unwrap exposes the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// explain turns the error of one GetSecret into a FetchError.
func (f *Fetcher) explain(ctx context.Context, r Reference, th *throttling, err error) *FetchError {
	e := &FetchError{Ref: r, VaultURL: r.VaultURL(f.Cloud), Status: th.last, Err: err}
	var re *azcore.ResponseError
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		f.explainTimeout(e, th)
	case errors.Is(err, context.Canceled):
		e.Reason, e.Hint = "interrupted", ""
	case errors.As(err, &re):
		e.Status = re.StatusCode
		f.explainStatus(e, re, th)
	default:
		f.explainNoResponse(e, err)
	}
	return e
}

const throttleHint = "the vault is throttling: raise --timeout, lower --concurrency, or retry later"

// explainTimeout reports a reference still unread when --timeout ended.
func (f *Fetcher) explainTimeout(e *FetchError, th *throttling) {
	e.Reason = fmt.Sprintf("not read within --timeout %s", f.timeout())
	if th.count > 0 {
		e.Reason += " (throttled " + times(th.count) + ")"
		e.Hint = throttleHint
		return
	}
	if th.vaultThrottled {
		// Never turned away itself, it waited behind the vault's pause.
		e.Reason += " (the vault is throttling)"
		e.Hint = throttleHint
		return
	}
	e.Hint = "the vault did not answer in time: check that it is reachable from here, or raise --timeout"
}

// explainStatus explains an error answer of the vault.
func (f *Fetcher) explainStatus(e *FetchError, re *azcore.ResponseError, th *throttling) {
	code, inner, msg := errorBody(re)
	e.Code = code
	r := e.Ref
	switch {
	case re.StatusCode == http.StatusNotFound:
		e.Reason = "no such secret or version"
		e.Hint = fmt.Sprintf("vault %q has no secret %q", r.Vault(), r.Secret)
		if r.Version != "" {
			e.Hint += " with version " + r.Version
		}
		if !r.Emulator() {
			e.Hint += fmt.Sprintf(": check the name (az keyvault secret list --vault-name %s)", r.vaultArg())
		}
	case re.StatusCode == http.StatusForbidden && (inner == "SecretDisabled" || strings.Contains(msg, "disabled")):
		e.Code = "SecretDisabled"
		e.Reason = "the secret is disabled"
		e.Hint = "enable it, or name an enabled version"
		if !r.Emulator() {
			e.Hint = fmt.Sprintf("enable it (az keyvault secret set-attributes --vault-name %s --name %s --enabled true%s) or name an enabled version",
				r.vaultArg(), r.Secret, versionArg(r.Version))
		}
	case re.StatusCode == http.StatusForbidden:
		if inner != "" {
			e.Code = inner
		}
		e.Reason = "access denied"
		e.Hint = f.accessHint(r)
	case re.StatusCode == http.StatusUnauthorized:
		e.Reason = "the vault refused the identity's token"
		e.Hint = "the vault may belong to a tenant the identity cannot sign in to; see AZURE_ADDITIONALLY_ALLOWED_TENANTS"
	case throttled(re.StatusCode):
		e.Reason = "throttled " + times(th.count)
		if th.asked > 0 {
			e.Reason += fmt.Sprintf(", and the next try would come after --timeout %s", f.timeout())
		}
		e.Hint = throttleHint
	default:
		e.Reason = strings.ToLower(http.StatusText(re.StatusCode))
		if e.Reason == "" {
			e.Reason = "unexpected answer"
		}
	}
}

// accessHint names the role to grant, and to whom.
func (f *Fetcher) accessHint(r Reference) string {
	who, assignee := "the identity", "<object id>"
	if f.ObjectID != "" {
		who, assignee = "the identity (object id "+f.ObjectID+")", f.ObjectID
	}
	h := fmt.Sprintf("%s lacks the Key Vault Secrets User role or an access policy on vault %q", who, r.Vault())
	if r.Emulator() {
		return h
	}
	return h + fmt.Sprintf(": az role assignment create --role \"Key Vault Secrets User\" --assignee-object-id %s "+
		"--scope $(az keyvault show --name %s --query id -o tsv)", assignee, r.vaultArg())
}

// tenantNotAllowed matches azidentity's refusal to get a token in a tenant
// its credential was not configured for.
var tenantNotAllowed = regexp.MustCompile(`isn't configured to acquire tokens for tenant "([^"]*)"`)

// explainNoResponse explains a failure without an answer from the vault:
// no token, no name resolution, no connection, no trust.
func (f *Fetcher) explainNoResponse(e *FetchError, err error) {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var auth *azidentity.AuthenticationFailedError
	var consent *NotConsentedError
	var notLoopback *NotLoopbackError
	var audience *ChallengeAudienceError
	r := e.Ref
	switch m := tenantNotAllowed.FindStringSubmatch(err.Error()); {
	case errors.As(err, &consent):
		e.Reason = "a vault on loopback is a Key Vault emulator, and none was named"
		e.Hint = fmt.Sprintf("if you run an emulator there, name it: --keyvault-emulator %s", consent.Addr)
	case errors.As(err, &notLoopback):
		e.Reason = notLoopback.Error()
		e.Hint = "an emulator gets a token only over loopback: use localhost or 127.0.0.1"
	case errors.As(err, &audience):
		e.Reason = audience.Error()
		e.Hint = "an emulator gets Key Vault tokens only; no token was sent: check what listens on " + r.Host
	case m != nil:
		e.Reason = fmt.Sprintf("the vault is in tenant %s, where the identity is not allowed to get tokens", m[1])
		e.Hint = fmt.Sprintf("if the identity may sign in to that tenant (a multi-tenant app), set AZURE_ADDITIONALLY_ALLOWED_TENANTS=%s", m[1])
	case strings.Contains(err.Error(), "doesn't match the requested domain"):
		e.Reason = "the vault's challenge names a resource that does not match its host"
		e.Hint = fmt.Sprintf("check that %q is a Key Vault: azexec sends tokens only where the challenge matches", e.VaultURL)
	case errors.As(err, &auth):
		e.Reason = "no token for the vault: " + firstLine(strings.TrimPrefix(auth.Error(), "azidentity: "))
		e.Hint = "the identity could not get a Key Vault token in the vault's tenant"
	case errors.As(err, &dns):
		e.Reason = fmt.Sprintf("cannot resolve host %q", dns.Name)
		e.Hint = f.dnsHint(r)
	case errors.As(err, &cert):
		e.Reason = "the vault's certificate is not trusted"
		if ne := resolve.AsNetworkError(err); ne != nil {
			e.Reason += " (" + strings.TrimPrefix(ne.Detail(), "TLS certificate not accepted: ") + ")"
		}
		e.Hint = "for an emulator, add its CA certificate to SSL_CERT_FILE; behind a TLS-inspecting proxy, the proxy's CA"
	default:
		if ne := resolve.AsNetworkError(err); ne != nil {
			e.Reason, e.Hint = ne.Error(), vaultNetworkHint(ne)
			return
		}
		e.Reason = firstLine(err.Error())
		e.Hint = "check that the vault is reachable from here"
	}
}

// vaultNetworkHint is the hint for a vault that could not be reached: the
// sign-in's advice (resolve.NetworkHint) where it fits a vault too.
func vaultNetworkHint(ne *resolve.NetworkError) string {
	const proxy = "the proxy settings: HTTPS_PROXY (and NO_PROXY for hosts to reach directly)"
	switch {
	case ne.ViaProxy():
	case ne.Problem() == resolve.NetRefused:
		return "nothing accepts connections at " + ne.Host + ": check the vault's host and port, or " + proxy
	case ne.Problem() == resolve.NetUnreachable, ne.Problem() == resolve.NetTimeout:
		return "check that the vault is reachable from here (network, VPN, firewall, private endpoint), and " + proxy
	}
	return resolve.NetworkHint(ne)
}

// dnsHint says what a name that does not resolve means.
func (f *Fetcher) dnsHint(r Reference) string {
	if r.VaultName == "" {
		return fmt.Sprintf("check the vault host %q", r.Host)
	}
	return fmt.Sprintf("check the vault name %q (in the %s cloud its host is %s)",
		r.VaultName, f.Cloud.Name, strings.TrimPrefix(r.VaultURL(f.Cloud), "https://"))
}

// errorBody reads Key Vault's error JSON: code, inner code and message.
func errorBody(re *azcore.ResponseError) (code, inner, msg string) {
	code = re.ErrorCode
	if re.RawResponse == nil {
		return code, "", ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return code, "", ""
	}
	var v struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return code, "", ""
	}
	if code == "" {
		code = v.Error.Code
	}
	return code, v.Error.InnerError.Code, strings.ToLower(v.Error.Message)
}

// vaultArg is the vault as az's --vault-name wants it.
func (r Reference) vaultArg() string {
	if r.VaultName != "" {
		return r.VaultName
	}
	label, _, _ := strings.Cut(r.Host, ".")
	return label
}

func versionArg(v string) string {
	if v == "" {
		return ""
	}
	return " --version " + v
}

// firstLine is the first line of an SDK error, which is often a long
// report with the response body, cut to redact.BodyLimit bytes: a server's
// text may echo the request.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return redact.Clip(strings.TrimSpace(s), redact.BodyLimit)
}

// times says how often: "once", "2 times".
func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
