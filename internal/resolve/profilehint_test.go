package resolve

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/azexec/azexec/internal/fail"
)

// profileStub is a source whose candidate is a profile's service principal.
type profileStub struct{ cred *stubCred }

func (profileStub) Name() string { return "profile" }

func (s profileStub) Load(*Config) (*Candidate, error) {
	return &Candidate{Credential: s.cred, Identity: Identity{Cloud: Clouds["public"], Profile: "dev",
		ClientID: "00000000-0000-0000-0000-0000000000c1", SP: &ServicePrincipal{}}}, nil
}

// TestProfileWrongSecretHint: Entra's "invalid client secret" for a profile
// points to azexec profile rotate, where the secret is kept; for the
// environment's service principal the hint stays az's.
func TestProfileWrongSecretHint(t *testing.T) {
	for code, want := range map[string]string{
		"AADSTS7000215: Invalid client secret provided.":              "store the right one with azexec profile rotate dev",
		"AADSTS7000222: The provided client secret keys are expired.": "az ad app credential reset --id 00000000-0000-0000-0000-0000000000c1 --append --query password -o tsv | azexec profile rotate dev",
	} {
		bad := &stubCred{err: errors.New("ClientSecretCredential: authentication failed\n" + code)}
		_, _, err := (&Chain{Sources: []Source{profileStub{bad}}}).Resolve(context.Background(), &Config{})
		if hint := fail.HintOf(err); !strings.Contains(hint, want) {
			t.Errorf("%s: hint %q, want %q", code, hint, want)
		}
		_, _, err = (&Chain{Sources: []Source{stubSource{name: "env", cred: bad}}}).Resolve(context.Background(), &Config{})
		if hint := fail.HintOf(err); strings.Contains(hint, "profile rotate") || !strings.Contains(hint, "az ad app credential reset") {
			t.Errorf("%s: env hint %q", code, hint)
		}
	}
}
