package inject

// jobCredentials are a CI job's own request credentials: with them, any
// process of the job can mint federated tokens (GitHub Actions OIDC, Azure
// Pipelines OIDC) or call Azure DevOps as the build, for as long as the
// job runs. azexec's github and pipelines sources use them; the child
// never receives them, in any injection mode, and gets short-lived access
// tokens through --inject endpoint instead.
var jobCredentials = []string{
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_ACCESSTOKEN",
}

// JobCredentials returns the names RemoveJobCredentials removes, for
// documentation and tests.
func JobCredentials() []string { return append([]string(nil), jobCredentials...) }

// RemoveJobCredentials deletes the CI job's request credentials from the
// child's environment and returns the names removed, for the log. It runs
// for every command and mode, before any other change.
func RemoveJobCredentials(env *Env) []string {
	var removed []string
	for _, k := range jobCredentials {
		if _, ok := env.Get(k); ok {
			env.Unset(k)
			removed = append(removed, k)
		}
	}
	return removed
}
