package resolve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/azexec/azexec/internal/profile"
)

// This file names each source's identity for the persistent token cache
// (CacheID), from local, non-secret state only, before any request. The
// rule: the name changes whenever the identity behind the source could
// have changed, so a cached token is never served to another identity.
// A source whose state cannot be read gets no name and is not cached:
// a miss costs one request, a wrong hit would hand out someone else's
// token. docs/identity-sources.md lists what invalidates each.

// newCacheID builds a CacheID from the source's name and the parts that
// decide its identity. The parts go into the entry name only hashed
// (profile.TokenEntryPrefix), and into the binding checked inside the
// encrypted entry.
func newCacheID(source, home, authority string, parts ...string) *CacheID {
	identity := source + "\x00" + strings.Join(parts, "\x00")
	return &CacheID{Identity: identity, Tenant: home, Binding: profile.Binding(identity, authority)}
}

// fileHash is the SHA-256 of a file's content, hex; "" when it cannot be
// read.
func fileHash(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return bytesHash(data)
}

func bytesHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// azDefaultAccount finds, in Azure CLI's azureProfile.json (never its
// token cache, msal_token_cache.*, which holds secrets), the default
// subscription's account. It decodes into maps rather than structs: the
// encoding/json reflection a struct costs on first use (half a
// millisecond) is a large part of a warm run.
func azDefaultAccount(data []byte) (user, userType, tenant, home, cloud string, ok bool) {
	var doc map[string]any
	// az writes the file with a UTF-8 byte order mark.
	if json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &doc) != nil {
		return "", "", "", "", "", false
	}
	subs, _ := doc["subscriptions"].([]any)
	for _, s := range subs {
		m, _ := s.(map[string]any)
		if def, _ := m["isDefault"].(bool); !def {
			continue
		}
		str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
		u, _ := m["user"].(map[string]any)
		return str(u, "name"), str(u, "type"), str(m, "tenantId"), str(m, "homeTenantId"), str(m, "environmentName"), true
	}
	return "", "", "", "", "", false
}

// azConfigDir is Azure CLI's configuration directory, as az finds it.
func azConfigDir(cfg *Config) string {
	if d := cfg.env("AZURE_CONFIG_DIR"); d != "" {
		return d
	}
	if home := cfg.env("HOME"); home != "" {
		return filepath.Join(home, ".azure")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".azure")
	}
	return ""
}

// cliCacheID names the az login: the default subscription's account (user
// name and type, tenant, home tenant, cloud) in azureProfile.json, and the
// configuration directory. `az logout` empties the list, `az login` as
// someone else changes the user, `az account set` into another tenant
// changes the tenant, `az cloud set` the cloud: each gives another name.
// No file, no default subscription or no user: not cached.
func cliCacheID(cfg *Config) *CacheID {
	dir := azConfigDir(cfg)
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "azureProfile.json"))
	if err != nil {
		return nil
	}
	user, userType, tenant, home, cloud, ok := azDefaultAccount(data)
	if !ok || user == "" || tenant == "" {
		return nil
	}
	return newCacheID("cli", tenant, "az:"+cloud, dir,
		strings.ToLower(user), userType, strings.ToLower(tenant), strings.ToLower(home), cloud)
}

// azdConfigDir is the Azure Developer CLI's configuration directory.
func azdConfigDir(cfg *Config) string {
	if d := cfg.env("AZD_CONFIG_DIR"); d != "" {
		return d
	}
	if home := cfg.env("HOME"); home != "" {
		return filepath.Join(home, ".azd")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".azd")
	}
	return ""
}

// azdCacheID names the azd login by the whole of azd's config.json (it
// holds the logged-in account, `auth.account.currentUser`, the cloud, and
// whether azd delegates to az, never a secret): `azd auth login` and
// `azd auth logout` rewrite it. When azd delegates to az
// (auth.useAzCliAuth), az's own login is part of the name too.
// No config.json, or one naming no account: not cached.
func azdCacheID(cfg *Config) *CacheID {
	dir := azdConfigDir(cfg)
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil
	}
	var c struct {
		Auth struct {
			Account struct {
				CurrentUser json.RawMessage `json:"currentUser"`
			} `json:"account"`
			UseAzCliAuth any `json:"useAzCliAuth"`
		} `json:"auth"`
	}
	if json.Unmarshal(data, &c) != nil {
		return nil
	}
	parts := []string{dir, bytesHash(data)}
	switch {
	case c.Auth.UseAzCliAuth != nil && c.Auth.UseAzCliAuth != false && c.Auth.UseAzCliAuth != "false":
		az := cliCacheID(cfg)
		if az == nil {
			return nil
		}
		parts = append(parts, az.Identity)
	case len(c.Auth.Account.CurrentUser) == 0 || string(c.Auth.Account.CurrentUser) == "null":
		return nil
	}
	return newCacheID("azd", "", "azd", parts...)
}

// workloadCacheID names a workload identity by its tenant, client id and
// authority, and by the token file's path and content: the platform
// rotates the file (a new name each time, so a new token at worst an hour
// early), and a file of another service account is another identity.
func workloadCacheID(cfg *Config, tenant, client, file string, assertion []byte) *CacheID {
	return newCacheID("workload", tenant, cfg.Cloud.AuthorityHost,
		strings.ToLower(tenant), strings.ToLower(client), file, bytesHash(assertion))
}

// managedCacheID names a managed identity by the host type, its endpoint
// variables, the user-assigned client id (none: the system-assigned one),
// a hash of the endpoint's secret header, and the machine's host name:
// another container, pod or VM with the same endpoint is another host.
func managedCacheID(cfg *Config, host, clientID string) *CacheID {
	hostname, err := os.Hostname()
	if err != nil {
		return nil
	}
	parts := []string{host, hostname, strings.ToLower(clientID)}
	for _, k := range []string{"IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "IDENTITY_SERVER_THUMBPRINT"} {
		parts = append(parts, cfg.env(k))
	}
	for _, k := range []string{"IDENTITY_HEADER", "MSI_SECRET"} {
		parts = append(parts, bytesHash([]byte(cfg.env(k))))
	}
	return newCacheID("managed", "", "managed:"+host, parts...)
}
