package resolve

import (
	"context"
	"crypto/x509"
	"errors"
	"regexp"
	"strings"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/redact"
)

var aadsts = regexp.MustCompile(`AADSTS(\d+)`)

// aadHints maps Entra ID error codes to what the user should do. Only codes
// whose cause is unambiguous are listed; anything else keeps the service's
// own one-line message.
var aadHints = map[string]string{
	"7000215": "the client secret is wrong: use the secret's value (not its ID) and check it has not expired; a new one: az ad app credential reset --id CLIENT_ID",
	"7000222": "the client secret has expired: create a new one with az ad app credential reset --id CLIENT_ID",
	"700016":  "the application was not found in this tenant: check AZURE_CLIENT_ID and AZURE_TENANT_ID (wrong tenant?) and the cloud (--cloud)",
	"90002":   "the tenant was not found: check AZURE_TENANT_ID and the cloud (--cloud)",
	"900023":  "the tenant id is malformed: AZURE_TENANT_ID must be a GUID or a domain such as contoso.onmicrosoft.com",
	"700027":  "the certificate is not registered for this application, or has expired: upload it with az ad app credential reset --id CLIENT_ID --cert @FILE",
	"70021":   "no federated credential matches the token's issuer and subject: check the federated identity credential of the application (issuer, subject, audience)",
	"700024":  "the federated token has expired: the token file is refreshed by the platform; check the projected service account token",
	"7000112": "the application is disabled in this tenant",
	"53003":   "a conditional access policy blocked the sign-in",
}

// explain turns a credential error into a one-line reason and, when the
// cause is known, a hint. The SDK's messages span many lines (request ids,
// troubleshooting links); azexec keeps the line that says what happened.
//
// A reason from the SDK is a server's text (an error_description may echo
// the whole request), so it is cut to redact.BodyLimit bytes; the log
// scrubber masks the secrets in what is left.
func explain(source string, err error) (reason, hint string) {
	var fe *fail.Error
	if errors.As(err, &fe) {
		return fe.Msg, fail.HintOf(err)
	}
	reason, hint = explainSDK(source, err)
	return redact.Clip(reason, redact.BodyLimit), hint
}

// explainSDK explains an error of the SDK's (or of a tool it ran).
func explainSDK(source string, err error) (reason, hint string) {
	if ne := AsNetworkError(err); ne != nil {
		return ne.Error(), NetworkHint(ne)
	}
	msg := err.Error()
	if m := aadsts.FindStringSubmatch(msg); m != nil {
		return aadLine(msg, m[0]), aadHints[m[1]]
	}
	switch source {
	case "cli":
		if strings.Contains(msg, "az login") || strings.Contains(msg, "az account set") {
			return "not logged in to the Azure CLI", "run az login (or az login --tenant TENANT)"
		}
	case "azd":
		if strings.Contains(msg, "azd auth login") || strings.Contains(msg, "not logged in") {
			return "not logged in to the Azure Developer CLI", "run azd auth login"
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "context deadline exceeded") {
		return "timed out waiting for a token", ""
	}
	return firstLine(msg), ""
}

// aadLine returns the service's sentence that carries the AADSTS code.
func aadLine(msg, code string) string {
	i := strings.Index(msg, code)
	line := msg[i:]
	if j := strings.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	if j := strings.Index(line, ". "); j >= 0 {
		line = line[:j+1]
	}
	return strings.TrimRight(strings.TrimSpace(line), `\"`)
}

func firstLine(msg string) string {
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "----") {
			return l
		}
	}
	return msg
}

// NetworkHint says what to check when a host could not be reached, by the
// cause: the network, VPN and proxy for a name that does not resolve or a
// network with no route; the host, port and proxy for a refused
// connection; the CA of a TLS-inspecting proxy for a certificate nobody
// trusts.
func NetworkHint(e *NetworkError) string {
	const (
		proxyVars = "HTTPS_PROXY (and NO_PROXY for hosts to reach directly)"
		cloudVars = "for a sovereign or private cloud use --cloud or AZURE_AUTHORITY_HOST"
		caBundle  = "a TLS-inspecting proxy or firewall may be presenting its own certificate: " +
			"point SSL_CERT_FILE at a PEM file holding its CA certificate and the public CAs, or add the CA to the system's trust store"
	)
	if e.ViaProxy() {
		return "check the proxy in " + proxyVars + ": it must be reachable and allow connections to " + e.Host
	}
	switch e.Problem() {
	case NetDNS, NetUnreachable:
		return "check the network connection or VPN, and the proxy settings: " + proxyVars + "; " + cloudVars
	case NetRefused:
		return "nothing accepts connections at " + e.Host + ": check the host and port (AZURE_AUTHORITY_HOST, --cloud), or the proxy: " + proxyVars
	case NetTimeout:
		return "check the network, VPN or firewall and the proxy settings: " + proxyVars + "; on a slow network raise --timeout"
	case NetCertificate:
		var hostname x509.HostnameError
		var invalid x509.CertificateInvalidError
		switch {
		case errors.As(e.Cause, &hostname):
			return "the certificate is for another host: check the host name (AZURE_AUTHORITY_HOST, the vault URL); otherwise " + caBundle
		case errors.As(e.Cause, &invalid) && invalid.Reason == x509.Expired:
			return "check the system clock; otherwise " + caBundle
		}
		return caBundle
	case NetTLS:
		return "check that " + e.Host + " speaks HTTPS at that port, and the proxy settings: " + proxyVars
	}
	return "check the network connection and the proxy settings: " + proxyVars
}
