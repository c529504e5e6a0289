package resolve

import (
	"cmp"
	"os"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/azexec/azexec/internal/fail"
)

// envSource is a service principal in AZURE_* variables, the SDK's
// EnvironmentCredential: a client secret first, else a certificate.
type envSource struct{}

func (envSource) Name() string { return "env" }

func (envSource) Load(cfg *Config) (*Candidate, error) {
	if cfg.FileSP != nil {
		return fileSPCandidate(cfg, cfg.FileSP)
	}
	tenant, client := cfg.env("AZURE_TENANT_ID"), cfg.env("AZURE_CLIENT_ID")
	secret, certPath := cfg.env("AZURE_CLIENT_SECRET"), cfg.env("AZURE_CLIENT_CERTIFICATE_PATH")
	if secret == "" && certPath == "" {
		if cfg.env("AZURE_USERNAME") != "" && cfg.env("AZURE_PASSWORD") != "" {
			return nil, &fail.Error{Kind: fail.Identity,
				Msg:  "AZURE_USERNAME/AZURE_PASSWORD is deprecated and refused (it cannot do multifactor authentication)",
				Hint: "use a service principal instead: az ad sp create-for-rbac, then set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"}
		}
		return nil, unavailable("neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set")
	}
	if missing := missingVars(map[string]string{"AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client}); missing != "" {
		return nil, &fail.Error{Kind: fail.Identity,
			Msg:  missing + " not set, but a client credential is",
			Hint: "a service principal needs AZURE_TENANT_ID and AZURE_CLIENT_ID as well"}
	}
	sp := &ServicePrincipal{TenantID: tenant, ClientID: client}
	id := Identity{TenantID: tenant, ClientID: client, Cloud: cfg.Cloud, SP: sp,
		Subscription: cfg.subscription()}
	if secret != "" {
		sp.ClientSecret = Secret(secret)
		id.Kind = "service principal (client secret)"
		return newSecretCandidate(cfg, sp, id)
	}
	sp.CertificatePath = certPath
	sp.CertificatePassword = Secret(cfg.env("AZURE_CLIENT_CERTIFICATE_PASSWORD"))
	sp.SendCertificateChain, _ = strconv.ParseBool(cfg.env("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"))
	id.Kind = "service principal (certificate)"
	cred, err := certificateCredential(cfg, sp)
	if err != nil {
		return nil, err
	}
	return &Candidate{Credential: cred, Identity: id}, nil
}

// fileSPCandidate is the service principal an env file declares with its
// own secret: that file's tenant, client id, authority and allowed tenants
// apply, the trusted environment filling what the file leaves out.
func fileSPCandidate(cfg *Config, f *FileServicePrincipal) (*Candidate, error) {
	tenant, client := cmp.Or(f.TenantID, cfg.env("AZURE_TENANT_ID")), cmp.Or(f.ClientID, cfg.env("AZURE_CLIENT_ID"))
	if missing := missingVars(map[string]string{"AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": client}); missing != "" {
		return nil, &fail.Error{Kind: fail.Identity,
			Msg:  missing + " not set, but env file " + strconv.Quote(f.File) + " holds a client secret",
			Hint: "put the service principal's AZURE_TENANT_ID and AZURE_CLIENT_ID in the same file as its secret"}
	}
	fcfg := *cfg
	if f.AuthorityHost != "" {
		c, err := cfg.Cloud.WithAuthorityHost(f.AuthorityHost)
		if err != nil {
			return nil, err
		}
		fcfg.Cloud = c
	}
	if f.AllowedTenants != "" {
		fcfg.allowed = &f.AllowedTenants
	}
	sp := &ServicePrincipal{TenantID: tenant, ClientID: client, ClientSecret: f.ClientSecret}
	id := Identity{TenantID: tenant, ClientID: client, Cloud: fcfg.Cloud, SP: sp, Subscription: cfg.subscription(),
		Kind: "service principal (client secret)"}
	cand, err := newSecretCandidate(&fcfg, sp, id)
	if err != nil {
		return nil, err
	}
	cand.Note = "from env file " + strconv.Quote(f.File)
	return cand, nil
}

// newSecretCandidate builds a client secret credential for sp.
func newSecretCandidate(cfg *Config, sp *ServicePrincipal, id Identity) (*Candidate, error) {
	cred, err := azidentity.NewClientSecretCredential(sp.TenantID, sp.ClientID, sp.ClientSecret.Reveal(), &azidentity.ClientSecretCredentialOptions{
		ClientOptions:              cfg.clientOptions(),
		DisableInstanceDiscovery:   !cfg.Cloud.Known(),
		AdditionallyAllowedTenants: cfg.allowedTenants(),
	})
	if err != nil {
		return nil, configError("client secret credential: %s", firstLine(err.Error()))
	}
	return &Candidate{Credential: cred, Identity: id}, nil
}

// certificateCredential reads a PEM or PKCS#12 certificate with its key.
func certificateCredential(cfg *Config, sp *ServicePrincipal) (*azidentity.ClientCertificateCredential, error) {
	data, err := os.ReadFile(sp.CertificatePath)
	if err != nil {
		return nil, &fail.Error{Kind: fail.Identity, Err: err,
			Msg:  "cannot read certificate " + strconv.Quote(sp.CertificatePath) + ": " + errText(err),
			Hint: "AZURE_CLIENT_CERTIFICATE_PATH must name a PEM or PKCS#12 file holding the certificate and its private key"}
	}
	certs, key, err := azidentity.ParseCertificates(data, []byte(sp.CertificatePassword.Reveal()))
	if err != nil {
		return nil, &fail.Error{Kind: fail.Identity,
			Msg:  "cannot parse certificate " + strconv.Quote(sp.CertificatePath) + ": " + firstLine(err.Error()),
			Hint: "the file must be PEM (certificate and unencrypted private key) or PKCS#12; for a protected PKCS#12 set AZURE_CLIENT_CERTIFICATE_PASSWORD"}
	}
	return azidentity.NewClientCertificateCredential(sp.TenantID, sp.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
		ClientOptions:              cfg.clientOptions(),
		DisableInstanceDiscovery:   !cfg.Cloud.Known(),
		SendCertificateChain:       sp.SendCertificateChain,
		AdditionallyAllowedTenants: cfg.allowedTenants(),
	})
}

func missingVars(vars map[string]string) string {
	var missing []string
	for _, k := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"} {
		if v, ok := vars[k]; ok && v == "" {
			missing = append(missing, k)
		}
	}
	return strings.Join(missing, " and ")
}

// errText is an error's text without the path, which the caller quotes.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
