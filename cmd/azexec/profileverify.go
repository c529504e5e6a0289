package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
	"github.com/azexec/azexec/internal/resolve"
)

// verifyProfile proves a new profile's credential by acquiring one token
// with it, before anything is stored: a wrong secret (pasted its ID, not
// its value; copied from the wrong app) is refused now, with Entra's own
// error, instead of being kept and failing at the first use, far from the
// paste. The credential is tried exactly as the profile source will use
// it, as a service principal of the environment source, on a private
// lookup: nothing goes through the process environment.
func verifyProfile(ctx context.Context, p profile.Profile, secret profile.Secret) error {
	cloud, err := resolve.LookupCloud(p.Cloud)
	if err != nil {
		return err
	}
	if host, ok := os.LookupEnv("AZURE_AUTHORITY_HOST"); ok && host != "" {
		if cloud, err = cloud.WithAuthorityHost(host); err != nil {
			return err
		}
	}
	vars := map[string]string{"AZURE_TENANT_ID": p.TenantID, "AZURE_CLIENT_ID": p.ClientID}
	if p.CertificatePath != "" {
		vars["AZURE_CLIENT_CERTIFICATE_PATH"] = p.CertificatePath
		vars["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = secret.Reveal()
	} else {
		vars["AZURE_CLIENT_SECRET"] = secret.Reveal()
	}
	sources, err := resolve.Select("env", "", false)
	if err != nil {
		return err
	}
	cfg := &resolve.Config{
		Env:        func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		ProcessEnv: func(string) (string, bool) { return "", false },
		LookPath:   exec.LookPath,
		Cloud:      cloud,
	}
	_, _, err = (&resolve.Chain{Sources: sources}).Resolve(ctx, cfg)
	var ce *resolve.ChainError
	if err == nil || !errors.As(err, &ce) || len(ce.Attempts) == 0 {
		return err
	}
	a := ce.Attempts[len(ce.Attempts)-1]
	kind := fail.KindOf(err)
	hint := "nothing was stored; azexec profile add --no-verify stores without trying (offline)"
	if a.Hint != "" {
		// The hints name the variables of the environment source this
		// proof runs as; here they are profile add's options.
		hint = strings.NewReplacer("AZURE_CLIENT_ID", "--client-id", "AZURE_TENANT_ID", "--tenant").Replace(a.Hint) + "; " + hint
	}
	return fail.New(kind, "profile %q not added: the service principal cannot sign in: %s", p.Name, a.Reason).
		WithHint("%s", hint)
}
