package providers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/redact"
	"github.com/azexec/azexec/internal/resolve"
)

// ACRScope is the scope of the Entra token exchanged at a registry. ACR
// accepts two audiences: Resource Manager's (what `az acr login` sends by
// default) and its own, containerregistry.azure.net, in every cloud. The
// registry's own is the one that always works: a registry whose
// "authentication-as-arm" is disabled (Azure Policy recommends it) refuses
// Resource Manager tokens, and a token for the registry alone cannot manage
// the subscription if it leaks.
const ACRScope = "https://containerregistry.azure.net/.default"

// ACRUsername is the user name docker presents with an ACR refresh token,
// the one `az acr login` uses.
const ACRUsername = "00000000-0000-0000-0000-000000000000"

// acrTimeout bounds the exchange, retries included.
const acrTimeout = 60 * time.Second

// RegistryHost returns the host[:port] of a registry as docker names it to
// a credential helper: a bare host ("myreg.azurecr.io"), a URL
// ("https://myreg.azurecr.io/v2/"), with or without a port. The result is
// lower case, without a trailing dot or the default https port. It is an
// error if no plausible host name can be found.
func RegistryHost(serverURL string) (string, error) {
	s := strings.TrimSpace(serverURL)
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil || u.User != nil {
			return "", fail.New(fail.Usage, "invalid registry %q", gitClip(s))
		}
		s = u.Host
	} else if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(s)
	host, port, hasPort := strings.Cut(s, ":")
	host = strings.TrimSuffix(host, ".")
	if !acrValidHost(host) || hasPort && !acrValidPort(port) {
		return "", fail.New(fail.Usage, "invalid registry %q", gitClip(serverURL))
	}
	if !hasPort || port == "443" {
		return host, nil
	}
	return host + ":" + port, nil
}

func acrValidHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func acrValidPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// RegistryCloud returns the cloud whose ACR suffix host has (a login
// server such as myreg.azurecr.io; not a data endpoint, which docker never
// asks for), or false.
func RegistryCloud(host string) (resolve.Cloud, bool) {
	if strings.Contains(host, ":") {
		return resolve.Cloud{}, false // ACR login servers listen on 443 only
	}
	for _, name := range resolve.CloudNames {
		c := resolve.Clouds[name]
		if name, ok := strings.CutSuffix(host, "."+c.ACRSuffix); ok && name != "" && !strings.Contains(name, ".") {
			return c, true
		}
	}
	return resolve.Cloud{}, false
}

// IsRegistry reports whether host (as RegistryHost returns it) is an Azure
// Container Registry azexec answers for: a login server of any cloud, or
// one of extra, the hosts the user listed (AZEXEC_ACR_HOSTS) for a
// registry behind a custom domain or a local stand-in. Nothing else gets a
// token: a registry that is not Azure's must never see an Entra token.
func IsRegistry(host string, extra []string) bool {
	if _, ok := RegistryCloud(host); ok {
		return true
	}
	for _, e := range extra {
		if h, err := RegistryHost(e); err == nil && h == host {
			return true
		}
	}
	return false
}

// ExchangeACRToken trades an Entra access token for a registry refresh
// token at https://HOST/oauth2/exchange, as `az acr login` does
// (grant_type=access_token with service, tenant and access_token), and
// returns the refresh token docker presents as the password of
// ACRUsername. pl carries retries and the transport; its default
// transport trusts the system roots and SSL_CERT_FILE.
//
// Failures are fail.Fetch errors whose message names the registry and the
// registry's own one-line reason, never a token.
func ExchangeACRToken(ctx context.Context, pl runtime.Pipeline, host, tenant, accessToken string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, acrTimeout)
	defer cancel()
	endpoint := "https://" + host + "/oauth2/exchange"
	req, err := runtime.NewRequest(ctx, http.MethodPost, endpoint)
	if err != nil {
		return "", fail.New(fail.Usage, "invalid registry %q", host).Wrap(err)
	}
	form := url.Values{
		"grant_type":   {"access_token"},
		"service":      {host},
		"tenant":       {tenant},
		"access_token": {accessToken},
	}
	body := streaming.NopCloser(strings.NewReader(form.Encode()))
	if err := req.SetBody(body, "application/x-www-form-urlencoded"); err != nil {
		return "", fail.New(fail.Fetch, "registry %q: %v", host, err)
	}
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := pl.Do(req)
	if err != nil {
		msg := acrFirstLine(acrRedact(err.Error(), accessToken))
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "timed out"
		}
		return "", fail.New(fail.Fetch, "registry %q: %s", host, msg).
			WithHint("check the registry's name and that this machine can reach it (firewall, private endpoint, proxy)")
	}
	payload, err := runtime.Payload(resp)
	if err != nil {
		return "", fail.New(fail.Fetch, "registry %q: reading the answer: %v", host, err)
	}
	if resp.StatusCode != http.StatusOK {
		reason := acrErrorMessage([]byte(acrRedact(string(payload), accessToken)))
		if reason == "" {
			reason = http.StatusText(resp.StatusCode)
		}
		e := fail.New(fail.Fetch, "registry %q refused the token exchange (%d): %s", host, resp.StatusCode, reason)
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			e.Hint = "give the identity a role that may pull from the registry (AcrPull, or Container Registry Repository Reader for ABAC registries), and check the cloud (--cloud)"
		case http.StatusNotFound:
			e.Hint = "is " + host + " an Azure Container Registry login server? list extra registry hosts in AZEXEC_ACR_HOSTS only for registries that are"
		}
		return "", e
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(payload, &out); err != nil || out.RefreshToken == "" {
		return "", fail.New(fail.Fetch, "registry %q answered the token exchange without a refresh token", host)
	}
	return out.RefreshToken, nil
}

// NewACRPipeline is the HTTP pipeline for ExchangeACRToken: the SDK's
// retries (429 and 5xx, with Retry-After) and its logging, which records
// URLs and status codes but never a request or response body.
func NewACRPipeline(o *policy.ClientOptions) runtime.Pipeline {
	return runtime.NewPipeline("azexec", "v0", runtime.PipelineOptions{}, o)
}

// acrErrorMessage picks the reason out of an error body: the registry's
// {"errors":[{"code","message"}]} or an OAuth {"error","error_description"}.
func acrErrorMessage(payload []byte) string {
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(payload, &body) != nil {
		return ""
	}
	if len(body.Errors) > 0 {
		e := body.Errors[0]
		if e.Message == "" {
			return e.Code
		}
		return acrFirstLine(e.Message)
	}
	if body.Description != "" {
		return acrFirstLine(body.Description)
	}
	return body.Error
}

// acrFirstLine keeps one line of a message, at most 300 bytes.
func acrFirstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// acrRedact removes secret from a message that came from elsewhere: error
// messages are printed without the log scrubber, and a server or transport
// error must not be the way a token reaches a terminal. A registry that
// echoes the exchange's form has the token URL-encoded, or JSON-escaped in
// its error JSON: redact.Set sees through both.
func acrRedact(msg, secret string) string {
	var s redact.Set
	s.Add(secret)
	return s.Redact(msg)
}
