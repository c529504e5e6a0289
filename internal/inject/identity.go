package inject

import (
	"strconv"

	"github.com/azexec/azexec/internal/resolve"
)

// azexecOrigin marks variables azexec itself sets, so `azexec env` and the
// debug log can tell them from the user's.
var azexecOrigin = Origin{Kind: "azexec"}

// ServicePrincipalEnv gives the child the variables every Azure SDK's
// EnvironmentCredential reads, for an identity azexec holds the credential
// of. Stale variables of the other credential kind are removed, so the
// child's SDK cannot pick a different credential than the one azexec
// proved. It returns the names set, for the log. Identities azexec holds no
// credential for (managed, workload, az, azd) change nothing: the child's
// own SDK finds the same login.
func ServicePrincipalEnv(env *Env, id *resolve.Identity) []string {
	if id == nil || id.SP == nil {
		return nil
	}
	sp := id.SP
	var set []string
	put := func(k, v string) {
		env.Set(k, v, azexecOrigin)
		set = append(set, k)
	}
	// AZURE_TOKEN_CREDENTIALS=dev would make the child's SDK skip these
	// variables for an az login: azexec's choice of identity must hold.
	env.Unset("AZURE_TOKEN_CREDENTIALS")
	put("AZURE_TENANT_ID", sp.TenantID)
	put("AZURE_CLIENT_ID", sp.ClientID)
	if sp.ClientSecret != "" {
		put("AZURE_CLIENT_SECRET", sp.ClientSecret.Reveal())
		env.Unset("AZURE_CLIENT_CERTIFICATE_PATH")
		env.Unset("AZURE_CLIENT_CERTIFICATE_PASSWORD")
	} else {
		env.Unset("AZURE_CLIENT_SECRET")
		put("AZURE_CLIENT_CERTIFICATE_PATH", sp.CertificatePath)
		if sp.CertificatePassword != "" {
			put("AZURE_CLIENT_CERTIFICATE_PASSWORD", sp.CertificatePassword.Reveal())
		} else {
			env.Unset("AZURE_CLIENT_CERTIFICATE_PASSWORD")
		}
		if sp.SendCertificateChain {
			put("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", strconv.FormatBool(true))
		}
	}
	if id.Subscription != "" {
		put("AZURE_SUBSCRIPTION_ID", id.Subscription)
	}
	if id.Cloud.AuthorityHost != resolve.Clouds["public"].AuthorityHost {
		put("AZURE_AUTHORITY_HOST", id.Cloud.AuthorityHost)
	}
	return set
}

// TerraformEnv adds the ARM_* variables Terraform's azurerm provider reads
// for a service principal, and returns the names set.
func TerraformEnv(env *Env, id *resolve.Identity) []string {
	if id == nil || id.SP == nil {
		return nil
	}
	sp := id.SP
	// Terraform picks some credentials before others: inherited ones of
	// another kind would win over, or break, the service principal.
	for _, k := range []string{"ARM_CLIENT_SECRET", "ARM_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PASSWORD",
		"ARM_USE_MSI", "ARM_USE_OIDC", "ARM_OIDC_TOKEN", "ARM_OIDC_TOKEN_FILE_PATH", "ARM_USE_CLI", "ARM_MSI_ENDPOINT"} {
		env.Unset(k)
	}
	vars := [][2]string{{"ARM_TENANT_ID", sp.TenantID}, {"ARM_CLIENT_ID", sp.ClientID}}
	if sp.ClientSecret != "" {
		vars = append(vars, [2]string{"ARM_CLIENT_SECRET", sp.ClientSecret.Reveal()})
	} else {
		vars = append(vars, [2]string{"ARM_CLIENT_CERTIFICATE_PATH", sp.CertificatePath})
		if sp.CertificatePassword != "" {
			vars = append(vars, [2]string{"ARM_CLIENT_CERTIFICATE_PASSWORD", sp.CertificatePassword.Reveal()})
		}
	}
	if id.Subscription != "" {
		vars = append(vars, [2]string{"ARM_SUBSCRIPTION_ID", id.Subscription})
	}
	var set []string
	for _, kv := range vars {
		env.Set(kv[0], kv[1], azexecOrigin)
		set = append(set, kv[0])
	}
	return set
}
