package providers

import (
	"sort"
	"strings"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/resolve"
)

// alias is a well-known audience, per cloud where the clouds differ.
type alias struct {
	about string
	// resource by cloud name; "" is the default for every cloud.
	resource map[string]string
}

// aliases lets users write `--token PGPASSWORD=ossrdbms` instead of an
// audience URL they would have to look up, and keeps the right audience
// when --cloud changes.
var aliases = map[string]alias{
	"arm":        {about: "Azure Resource Manager", resource: nil}, // from the cloud
	"graph":      {about: "Microsoft Graph", resource: nil},        // from the cloud
	"keyvault":   {about: "Azure Key Vault", resource: nil},        // from the cloud
	"storage":    {about: "Azure Storage", resource: map[string]string{"": "https://storage.azure.com/"}},
	"sql":        {about: "Azure SQL Database", resource: map[string]string{"": "https://database.windows.net/", "china": "https://database.chinacloudapi.cn/", "usgov": "https://database.usgovcloudapi.net/"}},
	"ossrdbms":   {about: "Azure Database for PostgreSQL and MySQL (token as password)", resource: map[string]string{"": "https://ossrdbms-aad.database.windows.net", "china": "https://ossrdbms-aad.database.chinacloudapi.cn", "usgov": "https://ossrdbms-aad.database.usgovcloudapi.net"}},
	"devops":     {about: "Azure DevOps", resource: map[string]string{"": "499b84ac-1321-427f-aa17-267ca6975798"}},
	"aks":        {about: "AKS with Entra ID (kubectl)", resource: map[string]string{"": "6dae42f8-4368-4678-94ff-3960e28e3630"}},
	"eventhubs":  {about: "Azure Event Hubs", resource: map[string]string{"": "https://eventhubs.azure.net"}},
	"servicebus": {about: "Azure Service Bus", resource: map[string]string{"": "https://servicebus.azure.net"}},
	"cosmos":     {about: "Azure Cosmos DB", resource: map[string]string{"": "https://cosmos.azure.com", "china": "https://cosmos.azure.cn", "usgov": "https://cosmos.azure.us"}},
}

// AliasNames lists the aliases, sorted, for help texts.
func AliasNames() []string {
	names := make([]string, 0, len(aliases))
	for n := range aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AliasHelp describes each alias for the selected cloud, one per line.
func AliasHelp(c resolve.Cloud) string {
	var b strings.Builder
	for _, n := range AliasNames() {
		scope, _ := Scope(c, n)
		b.WriteString("   " + n + strings.Repeat(" ", 12-len(n)) + scope + "  (" + aliases[n].about + ")\n")
	}
	return b.String()
}

// Scope turns what a user wrote into one OAuth scope: an alias, a resource
// (`https://management.azure.com/`, an application id) or a full scope
// (`https://x/.default`, `api://app/read`), which is kept as it is.
func Scope(c resolve.Cloud, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fail.New(fail.Usage, "empty scope").
			WithHint("give an alias (%s), a resource URL or a scope", strings.Join(AliasNames(), ", "))
	}
	if a, ok := aliases[strings.ToLower(s)]; ok {
		return ResourceScope(aliasResource(c, strings.ToLower(s), a)), nil
	}
	if strings.ContainsAny(s, " \t\n\"'") {
		return "", fail.New(fail.Usage, "invalid scope %q", s).
			WithHint("a scope has no spaces or quotes; give one scope at a time")
	}
	if isScope(s) {
		return s, nil
	}
	if !strings.Contains(s, "://") && !isGUID(s) {
		return "", fail.New(fail.Usage, "unknown scope alias %q", s).
			WithHint("use an alias (%s), a resource URL such as https://management.azure.com/, or a scope ending in /.default", strings.Join(AliasNames(), ", "))
	}
	return ResourceScope(s), nil
}

// ResourceScope is the v2 scope for a v1 resource.
func ResourceScope(resource string) string {
	return strings.TrimSuffix(resource, "/") + "/.default"
}

// isScope reports whether s already names a scope: /.default, or a path
// after the host (api://app/Read.All).
func isScope(s string) bool {
	if strings.HasSuffix(s, "/.default") {
		return true
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return strings.Contains(strings.TrimSuffix(s, "/"), "/")
	}
	rest := strings.TrimSuffix(s[i+3:], "/")
	return strings.Contains(rest, "/")
}

func aliasResource(c resolve.Cloud, name string, a alias) string {
	switch name {
	case "arm":
		return c.ResourceManager
	case "graph":
		return c.Graph
	case "keyvault":
		return c.KeyVaultAudience
	}
	if r, ok := a.resource[c.Name]; ok {
		return r
	}
	return a.resource[""]
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
