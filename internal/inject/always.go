package inject

import "slices"

// alwaysRemoved is the one list of variables that no program azexec starts
// ever receives, whatever the inject mode (auto and none included) and
// wherever the value came from (azexec's environment or an env file).
//
// The rule for belonging here: the variable is a secret of azexec's own,
// and it unlocks more than the run needs.
//   - AZEXEC_KEYRING_PASSWORD opens every profile in the keyring and the
//     token cache, not just the identity of this run.
//   - A CI job's request credentials (GitHub Actions' and Azure Pipelines'
//     OIDC request token and URL, SYSTEM_ACCESSTOKEN, and the same under
//     Terraform's ARM_OIDC_REQUEST_* names) let any holder mint federated
//     tokens, or call Azure DevOps as the build, for as long as the job
//     runs. azexec's github and pipelines sources use them; the child gets
//     short-lived access tokens through --inject endpoint instead. A tool
//     that needs the job's own OIDC token for another purpose (npm or
//     cosign provenance) runs outside azexec.
var alwaysRemoved = []string{
	"AZEXEC_KEYRING_PASSWORD",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "SYSTEM_ACCESSTOKEN",
	"ARM_OIDC_REQUEST_TOKEN", "ARM_OIDC_REQUEST_URL",
}

// AlwaysRemoved returns the names RemoveAzexecSecrets removes, for
// documentation and tests.
func AlwaysRemoved() []string { return slices.Clone(alwaysRemoved) }

// RemoveAzexecSecrets deletes the variables of AlwaysRemoved from env and
// returns the names it removed, for the log (never the values).
func RemoveAzexecSecrets(env *Env) []string {
	var removed []string
	for _, k := range alwaysRemoved {
		if _, ok := env.Get(k); ok {
			env.Unset(k)
			removed = append(removed, k)
		}
	}
	return removed
}
