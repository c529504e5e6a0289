package resolve

import "strings"

// cloudAliases are the names az uses for the clouds (az cloud list, the
// environmentName of az account show), accepted by --cloud so that a value
// copied from az works unchanged.
var cloudAliases = map[string]string{
	"azurecloud":        "public",
	"azurechinacloud":   "china",
	"azureusgovernment": "usgov",
}

// cloudKey is the key in Clouds of a --cloud value: azexec's own names and
// az's, in any case.
func cloudKey(name string) string {
	k := strings.ToLower(strings.TrimSpace(name))
	if alias, ok := cloudAliases[k]; ok {
		return alias
	}
	return k
}
