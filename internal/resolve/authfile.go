package resolve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/azexec/azexec/internal/fail"
)

// AuthFile is the legacy SDK auth file written by
// `az ad sp create-for-rbac --sdk-auth`, still read by Python's
// azure-common, the Azure/login GitHub action and old Go autorest.
type AuthFile struct {
	ClientID                       string `json:"clientId"`
	ClientSecret                   Secret `json:"clientSecret"`
	SubscriptionID                 string `json:"subscriptionId"`
	TenantID                       string `json:"tenantId"`
	ActiveDirectoryEndpointURL     string `json:"activeDirectoryEndpointUrl"`
	ResourceManagerEndpointURL     string `json:"resourceManagerEndpointUrl"`
	ActiveDirectoryGraphResourceID string `json:"activeDirectoryGraphResourceId"`
	SQLManagementEndpointURL       string `json:"sqlManagementEndpointUrl"`
	GalleryEndpointURL             string `json:"galleryEndpointUrl"`
	ManagementEndpointURL          string `json:"managementEndpointUrl"`
	// Older Go readers also accepted a certificate.
	ClientCertificate         string `json:"clientCertificate,omitempty"`
	ClientCertificatePassword Secret `json:"clientCertificatePassword,omitempty"`
}

// UnmarshalJSON reads the secret fields as plain strings (Secret's own
// MarshalJSON redacts, so decoding must not go through it in reverse).
func (a *AuthFile) UnmarshalJSON(b []byte) error {
	type plain AuthFile
	var raw struct {
		plain
		ClientSecret              string `json:"clientSecret"`
		ClientCertificatePassword string `json:"clientCertificatePassword"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*a = AuthFile(raw.plain)
	a.ClientSecret = Secret(raw.ClientSecret)
	a.ClientCertificatePassword = Secret(raw.ClientCertificatePassword)
	return nil
}

// MarshalClear writes the file with its secrets in the clear: the one way
// an AuthFile becomes text that a reader of the format can use (azexec
// --inject auth-file). Its plain MarshalJSON keeps them redacted.
func (a *AuthFile) MarshalClear() ([]byte, error) {
	type plain AuthFile
	raw := struct {
		plain
		// Shallower fields win over plain's redacting ones of the same name.
		ClientSecret              string `json:"clientSecret,omitempty"`
		ClientCertificatePassword string `json:"clientCertificatePassword,omitempty"`
	}{plain(*a), a.ClientSecret.Reveal(), a.ClientCertificatePassword.Reveal()}
	return json.MarshalIndent(raw, "", "  ")
}

// ParseAuthFile decodes an auth file in UTF-8 (with or without a BOM) or
// UTF-16 with a BOM, as Windows tools write it. Errors never quote the
// content: the file holds a secret.
func ParseAuthFile(data []byte) (*AuthFile, error) {
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	var a AuthFile
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&a); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, errors.New("not valid JSON (at byte " + strconv.FormatInt(se.Offset, 10) + ")")
		}
		return nil, errors.New("not an auth file object")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"tenantId", a.TenantID}, {"clientId", a.ClientID}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if a.ClientSecret == "" && a.ClientCertificate == "" {
		missing = append(missing, "clientSecret")
	}
	if len(missing) > 0 {
		return nil, errors.New("missing " + strings.Join(missing, ", "))
	}
	return &a, nil
}

// decodeText turns UTF-8 or BOM-marked UTF-16 bytes into a string.
func decodeText(b []byte) (string, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16(b[2:], binary.LittleEndian)
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return decodeUTF16(b[2:], binary.BigEndian)
	}
	if !utf8.Valid(b) {
		return "", errors.New("neither UTF-8 nor UTF-16 with a byte order mark")
	}
	return string(b), nil
}

func decodeUTF16(b []byte, order binary.ByteOrder) (string, error) {
	if len(b)%2 != 0 {
		return "", errors.New("UTF-16 text of odd length")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = order.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// Cloud picks the cloud the file's endpoints name: a known cloud when its
// Resource Manager endpoint matches one, else a custom cloud built from the
// file. The file's authority wins over the default.
func (a *AuthFile) Cloud(def Cloud) Cloud {
	c := def
	if arm := strings.TrimSuffix(a.ResourceManagerEndpointURL, "/"); arm != "" {
		c.Name, c.ResourceManager = "custom", arm+"/"
		for _, k := range Clouds {
			if strings.EqualFold(strings.TrimSuffix(k.ResourceManager, "/"), arm) {
				c = k
				break
			}
		}
	}
	if ad := strings.TrimSuffix(a.ActiveDirectoryEndpointURL, "/"); ad != "" {
		c.AuthorityHost = ad + "/"
	}
	return c
}

// authFileSource reads the file named by --auth-file or AZURE_AUTH_LOCATION.
type authFileSource struct{}

func (authFileSource) Name() string { return "auth-file" }

func (authFileSource) Load(cfg *Config) (*Candidate, error) {
	path, from := cfg.AuthFile, "--auth-file"
	if path == "" {
		path, from = cfg.env("AZURE_AUTH_LOCATION"), "AZURE_AUTH_LOCATION"
	}
	if path == "" {
		return nil, unavailable("no --auth-file and AZURE_AUTH_LOCATION is not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &fail.Error{Kind: fail.Identity, Err: err,
			Msg:  "cannot read auth file " + strconv.Quote(path) + " (from " + from + "): " + errText(err),
			Hint: "create one with az ad sp create-for-rbac --sdk-auth, or unset " + from}
	}
	a, err := ParseAuthFile(data)
	if err != nil {
		return nil, &fail.Error{Kind: fail.Identity,
			Msg:  "auth file " + strconv.Quote(path) + ": " + err.Error(),
			Hint: "the file must be the JSON printed by az ad sp create-for-rbac --sdk-auth"}
	}
	c := cfg.Cloud
	if !cfg.CloudExplicit {
		c = a.Cloud(cfg.Cloud)
	}
	if host := cfg.env("AZURE_AUTHORITY_HOST"); host != "" {
		if c, err = c.WithAuthorityHost(host); err != nil {
			return nil, err
		}
	}
	sub := cfg.subscription()
	if sub == "" {
		sub = a.SubscriptionID
	}
	sp := &ServicePrincipal{TenantID: a.TenantID, ClientID: a.ClientID, ClientSecret: a.ClientSecret}
	id := Identity{TenantID: a.TenantID, ClientID: a.ClientID, Cloud: c, SP: sp, Subscription: sub,
		Kind: "service principal (auth file " + strconv.Quote(path) + ")"}
	sub2 := *cfg
	sub2.Cloud = c
	if a.ClientSecret == "" {
		sp.CertificatePath, sp.CertificatePassword = a.ClientCertificate, a.ClientCertificatePassword
		cred, err := certificateCredential(&sub2, sp)
		if err != nil {
			return nil, err
		}
		return &Candidate{Credential: cred, Identity: id}, nil
	}
	return newSecretCandidate(&sub2, sp, id)
}
