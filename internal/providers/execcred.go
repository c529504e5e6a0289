package providers

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/azexec/azexec/internal/fail"
)

// The ExecCredential API versions a kubectl exec plugin may be asked for.
// v1alpha1 was removed in Kubernetes 1.24 and is refused.
const (
	ExecCredentialV1      = "client.authentication.k8s.io/v1"
	ExecCredentialV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// ExecCredential is the object a client-go exec credential plugin prints,
// as k8s.io/client-go/pkg/apis/clientauthentication/v1 (and v1beta1, which
// has the same fields here) defines it. Only a bearer token is ever set.
type ExecCredential struct {
	Kind       string               `json:"kind"`
	APIVersion string               `json:"apiVersion"`
	Status     ExecCredentialStatus `json:"status"`
}

// ExecCredentialStatus is the credential itself.
type ExecCredentialStatus struct {
	// ExpirationTimestamp is RFC 3339 in UTC, as metav1.Time marshals: the
	// client reuses the token until then and runs the plugin again after.
	ExpirationTimestamp string `json:"expirationTimestamp"`
	Token               string `json:"token"`
}

// ExecAPIVersion returns the ExecCredential apiVersion to answer, read from
// the KUBERNETES_EXEC_INFO JSON that client-go sets for the plugin. client-go
// rejects an answer of another version than it asked for; without the
// variable (an older kubectl, or a user running the command by hand) the
// answer is v1beta1, which every kubectl since 1.11 reads.
func ExecAPIVersion(execInfo string) (string, error) {
	if strings.TrimSpace(execInfo) == "" {
		return ExecCredentialV1beta1, nil
	}
	var info struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal([]byte(execInfo), &info); err != nil {
		return "", fail.New(fail.Usage, "KUBERNETES_EXEC_INFO is not valid JSON").
			WithHint("it is set by kubectl; unset it to run the command by hand")
	}
	switch info.APIVersion {
	case ExecCredentialV1, ExecCredentialV1beta1:
		return info.APIVersion, nil
	case "":
		return ExecCredentialV1beta1, nil
	}
	return "", fail.New(fail.Usage, "unsupported exec credential api version %q", info.APIVersion).
		WithHint("set the kubeconfig's exec.apiVersion to %s (or %s)", ExecCredentialV1, ExecCredentialV1beta1)
}

// NewExecCredential wraps tok for kubectl in the given API version.
func NewExecCredential(apiVersion string, tok azcore.AccessToken) ExecCredential {
	return ExecCredential{
		Kind:       "ExecCredential",
		APIVersion: apiVersion,
		Status: ExecCredentialStatus{
			ExpirationTimestamp: tok.ExpiresOn.UTC().Format(time.RFC3339),
			Token:               tok.Token,
		},
	}
}
