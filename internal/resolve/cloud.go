package resolve

import (
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/azexec/azexec/internal/fail"
)

// Cloud is one Azure cloud's set of endpoints. azcore's cloud package knows
// the authority and Resource Manager; Key Vault and Container Registry
// suffixes are added here because later features (references, docker
// credentials) must follow the selected cloud too.
type Cloud struct {
	Name             string // public, china, usgov, or custom
	AuthorityHost    string // https://login.microsoftonline.com/
	ResourceManager  string // https://management.azure.com/
	KeyVaultSuffix   string // vault.azure.net
	KeyVaultAudience string // https://vault.azure.net
	ACRSuffix        string // azurecr.io
	Graph            string // https://graph.microsoft.com/
}

// Clouds are the sovereign clouds azexec knows by name.
var Clouds = map[string]Cloud{
	"public": {
		Name:             "public",
		AuthorityHost:    cloud.AzurePublic.ActiveDirectoryAuthorityHost,
		ResourceManager:  "https://management.azure.com/",
		KeyVaultSuffix:   "vault.azure.net",
		KeyVaultAudience: "https://vault.azure.net",
		ACRSuffix:        "azurecr.io",
		Graph:            "https://graph.microsoft.com/",
	},
	"china": {
		Name:             "china",
		AuthorityHost:    cloud.AzureChina.ActiveDirectoryAuthorityHost,
		ResourceManager:  "https://management.chinacloudapi.cn/",
		KeyVaultSuffix:   "vault.azure.cn",
		KeyVaultAudience: "https://vault.azure.cn",
		ACRSuffix:        "azurecr.cn",
		Graph:            "https://microsoftgraph.chinacloudapi.cn/",
	},
	"usgov": {
		Name:             "usgov",
		AuthorityHost:    cloud.AzureGovernment.ActiveDirectoryAuthorityHost,
		ResourceManager:  "https://management.usgovcloudapi.net/",
		KeyVaultSuffix:   "vault.usgovcloudapi.net",
		KeyVaultAudience: "https://vault.usgovcloudapi.net",
		ACRSuffix:        "azurecr.us",
		Graph:            "https://graph.microsoft.us/",
	},
}

// CloudNames lists the names accepted by --cloud, in help order.
var CloudNames = []string{"public", "china", "usgov"}

// LookupCloud returns the named cloud, or an error naming the choices.
func LookupCloud(name string) (Cloud, error) {
	c, ok := Clouds[cloudKey(name)]
	if !ok {
		return Cloud{}, fail.New(fail.Usage, "unknown cloud %q", name).
			WithHint("use one of: %s", strings.Join(CloudNames, ", "))
	}
	return c, nil
}

// WithAuthorityHost returns c with its authority replaced, as the SDK does
// when AZURE_AUTHORITY_HOST is set. The SDK refuses plain http, so azexec does
// too, before any request.
func (c Cloud) WithAuthorityHost(host string) (Cloud, error) {
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return c, fail.New(fail.Usage, "authority host %q is not an https URL", host).
			WithHint("AZURE_AUTHORITY_HOST must look like https://login.microsoftonline.com/")
	}
	if !strings.HasSuffix(host, "/") {
		host += "/"
	}
	c.AuthorityHost = host
	return c, nil
}

// Known reports whether the authority is one Microsoft's instance discovery
// knows. For any other host (Azure Stack, a test double) azexec disables
// instance discovery, which would otherwise call login.microsoftonline.com.
func (c Cloud) Known() bool {
	for _, k := range Clouds {
		if strings.EqualFold(k.AuthorityHost, c.AuthorityHost) {
			return true
		}
	}
	return false
}

// Configuration is the azcore form of c, for credential options.
func (c Cloud) Configuration() cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: c.AuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Audience: c.ResourceManager, Endpoint: c.ResourceManager},
		},
	}
}

// ARMScope is the scope that proves an identity when nothing more specific is
// needed: every identity that can do anything in Azure can get it.
func (c Cloud) ARMScope() string { return strings.TrimSuffix(c.ResourceManager, "/") + "/.default" }
