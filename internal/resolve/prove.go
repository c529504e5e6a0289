package resolve

import "context"

// ProveServicePrincipal acquires one token as sp in cloud, exactly as the
// profile source will use it, and returns nil or the chain's error (a
// *ChainError with Entra's reason and a hint). azexec profile add calls it
// to refuse a wrong secret before storing it. sp comes from the command
// line and the terminal, trusted inputs; no environment is read. network
// is the HTTP client, as for every source (nil: the default).
func ProveServicePrincipal(ctx context.Context, cloud Cloud, sp ServicePrincipal, network *Network) error {
	cfg := &Config{Cloud: cloud, Network: network}
	_, _, err := (&Chain{Sources: []Source{givenSource{sp}}}).Resolve(ctx, cfg)
	return err
}

// givenSource is a service principal handed over whole by the caller.
type givenSource struct{ sp ServicePrincipal }

func (givenSource) Name() string { return "profile" }

func (s givenSource) Load(cfg *Config) (*Candidate, error) {
	sp := s.sp
	id := Identity{TenantID: sp.TenantID, ClientID: sp.ClientID, Cloud: cfg.Cloud, SP: &sp, Kind: "service principal"}
	if sp.CertificatePath != "" {
		cred, err := certificateCredential(cfg, &sp)
		if err != nil {
			return nil, err
		}
		return &Candidate{Credential: cred, Identity: id}, nil
	}
	return newSecretCandidate(cfg, &sp, id)
}
