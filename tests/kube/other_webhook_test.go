package kube

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// startAnnotatingWebhook registers a second mutating webhook, called after
// azexec's (configurations run in name order), that annotates every pod of
// the apps namespace once: a change after azexec's, so the API server
// reinvokes azexec's.
func startAnnotatingWebhook(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rev struct {
			Request struct {
				UID    string `json:"uid"`
				Object struct {
					Metadata struct {
						Annotations map[string]string `json:"annotations"`
					} `json:"metadata"`
				} `json:"object"`
			} `json:"request"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &rev)
		resp := map[string]any{"uid": rev.Request.UID, "allowed": true}
		if rev.Request.Object.Metadata.Annotations["test/annotated"] == "" {
			resp["patchType"] = "JSONPatch"
			resp["patch"], _ = json.Marshal([]map[string]any{{"op": "add", "path": "/metadata/annotations/test~1annotated", "value": "yes"}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp})
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	fail, none := admissionv1.Fail, admissionv1.SideEffectClassNone
	url := srv.URL + "/"
	cfg := &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "zz-annotate"},
		Webhooks: []admissionv1.MutatingWebhook{{Name: "annotate.test.io", ClientConfig: admissionv1.WebhookClientConfig{URL: &url, CABundle: ca},
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			FailurePolicy: &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": appsNamespace}}}}}
	api := theCluster.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := api.Create(ctx(t), cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Delete(bg(), cfg.Name, metav1.DeleteOptions{}) })
	// Wait until the API server calls it (its configuration cache lags).
	waitMutated(t, appsNamespace, func(p *corev1.Pod) bool { return p.Annotations["test/annotated"] == "yes" })
	return srv
}

// waitMutated creates dry-run pods until ok holds for the answer: a
// webhook configuration takes effect a moment after it is stored.
func waitMutated(t testing.TB, ns string, ok func(*corev1.Pod) bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p := newPod("probe", optIn, app("web", "/bin/web"))
		got, err := theCluster.client.CoreV1().Pods(ns).Create(bg(), p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && ok(got) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the webhook configuration did not take effect within 30s")
}
