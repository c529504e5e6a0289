package providers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/azexec/azexec/internal/fail"
)

func TestExecAPIVersion(t *testing.T) {
	cases := map[string]string{
		"": ExecCredentialV1beta1,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`:      ExecCredentialV1,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`: ExecCredentialV1beta1,
		`{"kind":"ExecCredential","spec":{}}`: ExecCredentialV1beta1,
	}
	for in, want := range cases {
		if got, err := ExecAPIVersion(in); err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"{", `{"apiVersion":"client.authentication.k8s.io/v1alpha1"}`, `{"apiVersion":"v1"}`} {
		if _, err := ExecAPIVersion(bad); fail.KindOf(err) != fail.Usage || fail.HintOf(err) == "" {
			t.Errorf("%q: err = %v, want a usage error with a hint", bad, err)
		}
	}
}

// TestExecCredentialSchema checks the printed form against the fields of
// client-go's clientauthentication v1 ExecCredential, decoding strictly: an
// unknown or misspelt field fails.
func TestExecCredentialSchema(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	ec := NewExecCredential(ExecCredentialV1, azcore.AccessToken{Token: "tok", ExpiresOn: exp})
	b, err := json.Marshal(ec)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Spec       *struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
		Status *struct {
			ExpirationTimestamp   string `json:"expirationTimestamp"`
			Token                 string `json:"token"`
			ClientCertificateData string `json:"clientCertificateData"`
			ClientKeyData         string `json:"clientKeyData"`
		} `json:"status"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if v.Kind != "ExecCredential" || v.APIVersion != ExecCredentialV1 || v.Status == nil || v.Status.Token != "tok" {
		t.Errorf("got %s", b)
	}
	if v.Status.ExpirationTimestamp != "2030-01-02T02:04:05Z" {
		t.Errorf("expirationTimestamp = %q, want RFC 3339 in UTC", v.Status.ExpirationTimestamp)
	}
}
