package inject

import (
	"slices"
	"testing"
)

// TestRemoveAzexecSecrets: the passphrase and the CI job's request
// credentials go whatever their origin; other variables stay.
func TestRemoveAzexecSecrets(t *testing.T) {
	env := NewEnv([]string{"AZEXEC_KEYRING_PASSWORD=p", "HOME=/h", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=x"})
	env.Set("AZEXEC_KEYRING_PASSWORD", "q", Origin{Kind: OriginFile, File: "a.env", Line: 1})
	removed := RemoveAzexecSecrets(env)
	if !slices.Equal(removed, []string{"AZEXEC_KEYRING_PASSWORD", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}) {
		t.Errorf("removed %v", removed)
	}
	for _, k := range AlwaysRemoved() {
		if _, ok := env.Get(k); ok {
			t.Errorf("%s survived", k)
		}
	}
	for _, k := range []string{"HOME"} {
		if _, ok := env.Get(k); !ok {
			t.Errorf("%s was removed", k)
		}
	}
	if removed := RemoveAzexecSecrets(env); removed != nil {
		t.Errorf("second call removed %v", removed)
	}
}

// TestBootstrapSecretsIncludeAlwaysRemoved: the narrow modes remove
// azexec's own secrets too.
func TestBootstrapSecretsIncludeAlwaysRemoved(t *testing.T) {
	env := NewEnv([]string{"AZEXEC_KEYRING_PASSWORD=p"})
	if removed := RemoveBootstrapSecrets(env); !slices.Contains(removed, "AZEXEC_KEYRING_PASSWORD") {
		t.Errorf("removed %v", removed)
	}
}
