package inject

// bootstrapSecrets are the variables that carry a long-lived credential,
// or point an SDK at another identity source. Modes that hand the child a
// narrower credential (the identity endpoint, --inject none) remove them
// all.
var bootstrapSecrets = []string{
	"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
	"AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "AZURE_USERNAME", "AZURE_PASSWORD",
	"AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTH_LOCATION", "ARM_CLIENT_SECRET",
	"ARM_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PASSWORD", "ARM_OIDC_TOKEN", "ARM_OIDC_TOKEN_FILE_PATH",
	"MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT",
	"IMDS_ENDPOINT", "AZURE_TOKEN_CREDENTIALS",
	// azexec's own secrets (AlwaysRemoved: the keyring passphrase, a CI
	// job's request credentials) are removed in every mode, and here too.
}

// RemoveBootstrapSecrets deletes every variable that carries a long-lived
// credential or selects another identity source, and returns the names
// removed, for the log.
func RemoveBootstrapSecrets(env *Env) []string {
	removed := RemoveAzexecSecrets(env)
	for _, k := range bootstrapSecrets {
		if _, ok := env.Get(k); ok {
			env.Unset(k)
			removed = append(removed, k)
		}
	}
	return removed
}
