package providers

import (
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/resolve"
)

func TestScope(t *testing.T) {
	pub, china := resolve.Clouds["public"], resolve.Clouds["china"]
	cases := []struct {
		cloud resolve.Cloud
		in    string
		want  string
	}{
		{pub, "arm", "https://management.azure.com/.default"},
		{china, "ARM", "https://management.chinacloudapi.cn/.default"},
		{pub, "ossrdbms", "https://ossrdbms-aad.database.windows.net/.default"},
		{china, "ossrdbms", "https://ossrdbms-aad.database.chinacloudapi.cn/.default"},
		{pub, "keyvault", "https://vault.azure.net/.default"},
		{resolve.Clouds["usgov"], "keyvault", "https://vault.usgovcloudapi.net/.default"},
		{pub, "aks", "6dae42f8-4368-4678-94ff-3960e28e3630/.default"},
		{pub, "devops", "499b84ac-1321-427f-aa17-267ca6975798/.default"},
		{pub, "https://management.azure.com/", "https://management.azure.com/.default"},
		{pub, "https://ossrdbms-aad.database.windows.net/.default", "https://ossrdbms-aad.database.windows.net/.default"},
		{pub, "api://my-app/Read.All", "api://my-app/Read.All"},
		{pub, "6dae42f8-4368-4678-94ff-3960e28e3630", "6dae42f8-4368-4678-94ff-3960e28e3630/.default"},
	}
	for _, tc := range cases {
		got, err := Scope(tc.cloud, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Scope(%s, %q) = %q, %v; want %q", tc.cloud.Name, tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "postgres", "a b", `x"y`} {
		if _, err := Scope(pub, bad); err == nil || fail.KindOf(err) != fail.Usage {
			t.Errorf("Scope(%q) = %v, want a usage error", bad, err)
		}
	}
}

func TestAliasHelpListsEveryAlias(t *testing.T) {
	h := AliasHelp(resolve.Clouds["public"])
	for _, n := range AliasNames() {
		if !strings.Contains(h, "   "+n+" ") {
			t.Errorf("help lacks %q", n)
		}
	}
}
