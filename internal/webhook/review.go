package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
)

// MaxReviewBytes bounds an AdmissionReview body: a pod object is at most
// etcd's 1.5 MiB request limit, and a review carries it once on CREATE.
const MaxReviewBytes = 4 << 20

// review is the part of an admission.k8s.io/v1 AdmissionReview the webhook
// reads and writes.
type review struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Request    *request  `json:"request,omitempty"`
	Response   *response `json:"response,omitempty"`
}

// request is an AdmissionRequest: which object, in which namespace, for
// which operation, and the object itself.
type request struct {
	UID         string               `json:"uid"`
	Kind        groupVersionKind     `json:"kind"`
	Resource    groupVersionResource `json:"resource"`
	SubResource string               `json:"subResource,omitempty"`
	Name        string               `json:"name,omitempty"`
	Namespace   string               `json:"namespace,omitempty"`
	Operation   string               `json:"operation"`
	DryRun      *bool                `json:"dryRun,omitempty"`
	Object      json.RawMessage      `json:"object,omitempty"`
}

type groupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type groupVersionResource struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"`
}

// response is an AdmissionResponse.
type response struct {
	UID       string   `json:"uid"`
	Allowed   bool     `json:"allowed"`
	Result    *status  `json:"status,omitempty"`
	Patch     []byte   `json:"patch,omitempty"`
	PatchType string   `json:"patchType,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// status is the metav1.Status of a denial: its message is what kubectl
// shows the user.
type status struct {
	Code    int    `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// decodeReview parses an AdmissionReview the API server sent. It rejects
// what is not a v1 review with a request, so that a response always has
// the request's uid to answer.
func decodeReview(body []byte) (*review, error) {
	if len(body) > MaxReviewBytes {
		return nil, fmt.Errorf("admission review of %d bytes is larger than %d", len(body), MaxReviewBytes)
	}
	var r review
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("admission review is not JSON: %w", err)
	}
	if r.APIVersion != "admission.k8s.io/v1" || r.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("want an admission.k8s.io/v1 AdmissionReview, got apiVersion %q kind %q", clip(r.APIVersion), clip(r.Kind))
	}
	if r.Request == nil || r.Request.UID == "" {
		return nil, errors.New("admission review has no request uid")
	}
	return &r, nil
}

// clip keeps at most 64 bytes of a string from a request for a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
