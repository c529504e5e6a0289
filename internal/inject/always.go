package inject

import "slices"

// alwaysRemoved is the one list of variables that no program azexec starts
// ever receives, whatever the inject mode (auto and none included) and
// wherever the value came from (azexec's environment or an env file).
//
// The rule for belonging here: the variable is azexec's own secret, and it
// unlocks more than the run needs. AZEXEC_KEYRING_PASSWORD opens every
// profile in the keyring and the token cache, not just the identity of
// this run.
//
// Not here, on purpose: the CI job's own OIDC request credentials
// (ACTIONS_ID_TOKEN_REQUEST_TOKEN and _URL, SYSTEM_ACCESSTOKEN,
// SYSTEM_OIDCREQUESTURI). azexec does not read them; they belong to the
// job, and tools run as COMMAND need them for their own purposes (npm and
// cosign provenance, other clouds' federated logins, Azure DevOps REST
// calls). The modes that narrow what the child holds (endpoint, auth-file,
// none) remove the GitHub ones with the other bootstrap credentials
// (RemoveBootstrapSecrets); env and auto hand the child a full credential
// anyway.
var alwaysRemoved = []string{
	"AZEXEC_KEYRING_PASSWORD",
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
