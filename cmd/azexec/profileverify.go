package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
	"github.com/azexec/azexec/internal/resolve"
)

// verifyProfile proves a new profile's credential by acquiring one token
// with it, before anything is stored: a wrong secret (pasted its ID, not
// its value; copied from the wrong app) is refused now, with Entra's own
// error, instead of being kept and failing at the first use, far from the
// paste. The credential is tried exactly as the profile source will use
// it; nothing goes through an environment.
func verifyProfile(ctx context.Context, p profile.Profile, secret profile.Secret, timeout time.Duration) error {
	cloud, err := resolve.LookupCloud(p.Cloud)
	if err != nil {
		return err
	}
	if host, ok := os.LookupEnv("AZURE_AUTHORITY_HOST"); ok && host != "" {
		if cloud, err = cloud.WithAuthorityHost(host); err != nil {
			return err
		}
	}
	sp := resolve.ServicePrincipal{TenantID: p.TenantID, ClientID: p.ClientID}
	if p.CertificatePath != "" {
		sp.CertificatePath, sp.CertificatePassword = p.CertificatePath, resolve.Secret(secret.Reveal())
	} else {
		sp.ClientSecret = resolve.Secret(secret.Reveal())
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err = resolve.ProveServicePrincipal(ctx, cloud, sp, resolve.NewNetwork(timeout))
	var ce *resolve.ChainError
	if err == nil || !errors.As(err, &ce) || len(ce.Attempts) == 0 {
		return err
	}
	a := ce.Attempts[len(ce.Attempts)-1]
	kind := fail.KindOf(err)
	hint := "nothing was stored; azexec profile add --no-verify stores without trying (offline)"
	if a.Hint != "" {
		// Entra's hints name the environment's variables; here they are
		// profile add's options.
		hint = strings.NewReplacer("AZURE_CLIENT_ID", "--client-id", "AZURE_TENANT_ID", "--tenant").Replace(a.Hint) + "; " + hint
	}
	return fail.New(kind, "profile %q not added: the service principal cannot sign in: %s", p.Name, a.Reason).
		WithHint("%s", hint)
}
