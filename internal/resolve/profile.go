package resolve

import (
	"strconv"

	"github.com/azexec/azexec/internal/profile"
)

// profileSource is a service principal kept in a profile (azexec profile
// add): its non-secret fields in azexec's config file, its secret in the OS
// keyring. It is tried only when a profile is named (--profile or
// AZEXEC_PROFILE), and then alone: naming a profile is as explicit as
// --identity, and a locked keyring must not fall through to another login.
type profileSource struct{}

func (profileSource) Name() string { return "profile" }

// Load reads the named profile's config entry and its secret from the
// keyring; only the keyring may prompt (for the file backend's passphrase).
func (profileSource) Load(cfg *Config) (*Candidate, error) {
	if cfg.Profile == "" {
		return nil, unavailable("no --profile and AZEXEC_PROFILE is not set")
	}
	if cfg.Profiles == nil {
		return nil, configError("profile %q: no profile store configured", cfg.Profile)
	}
	p, err := cfg.Profiles.Get(cfg.Profile)
	if err != nil {
		return nil, err
	}
	secret, kr, err := cfg.Profiles.Secret(p)
	if err != nil {
		return nil, err
	}
	c, err := profileCloud(cfg, p)
	if err != nil {
		return nil, err
	}
	sub := p.Subscription
	if sub == "" {
		sub = cfg.subscription()
	}
	sp := &ServicePrincipal{TenantID: p.TenantID, ClientID: p.ClientID}
	id := Identity{TenantID: p.TenantID, ClientID: p.ClientID, Cloud: c, SP: sp, Subscription: sub,
		Profile: p.Name, Keyring: kr.Backend,
		Kind: "service principal (" + p.SecretKind() + ", profile " + strconv.Quote(p.Name) + ")"}
	note := "profile " + strconv.Quote(p.Name) + ", secret from the " + kr.Backend + " keyring; the only source tried when a profile is named"
	pcfg := *cfg
	pcfg.Cloud = c
	if p.CertificatePath != "" {
		sp.CertificatePath, sp.CertificatePassword = p.CertificatePath, Secret(secret.Reveal())
		cred, err := certificateCredential(&pcfg, sp)
		if err != nil {
			return nil, err
		}
		return &Candidate{Credential: cred, Identity: id, Note: note}, nil
	}
	sp.ClientSecret = Secret(secret.Reveal())
	cand, err := newSecretCandidate(&pcfg, sp, id)
	if err != nil {
		return nil, err
	}
	cand.Note = note
	return cand, nil
}

// profileCloud is the profile's cloud unless --cloud was given;
// AZURE_AUTHORITY_HOST still overrides its authority, as for every source.
func profileCloud(cfg *Config, p profile.Profile) (Cloud, error) {
	if cfg.CloudExplicit || p.Cloud == "" {
		return cfg.Cloud, nil
	}
	c, err := LookupCloud(p.Cloud)
	if err != nil {
		return c, err
	}
	if host := cfg.env("AZURE_AUTHORITY_HOST"); host != "" {
		return c.WithAuthorityHost(host)
	}
	return c, nil
}
