package kube

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"

	"os/exec"
	"path/filepath"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Namespaces of the tests. ownNamespace is the webhook's: never touched.
const (
	appsNamespace  = "apps"
	optInNamespace = "apps-opted-in"
	ownNamespace   = "azexec-system"
	testImage      = "localhost/azexec-test:local"
)

// startWebhook makes the serving pair with `azexec webhook certs`, starts
// `azexec webhook` on loopback and registers it by URL, as
// examples/kubernetes/webhook.yaml does by Service.
func (c *cluster) startWebhook() error {
	certDir := filepath.Join(c.dir, "webhook-tls")
	out, err := exec.Command(c.azexec, "webhook", "certs", "--ip", "127.0.0.1", "--out-dir", certDir).Output()
	if err != nil {
		return fmt.Errorf("azexec webhook certs: %v", err)
	}
	c.webhookCA, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(out)))
	if err != nil {
		return fmt.Errorf("azexec webhook certs printed no caBundle: %v", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd, err := c.startEnv(c.azexec, c.webhookLog, []string{"AZEXEC_LOG_LEVEL=info", "HOME=" + c.dir, "PATH=/nonexistent"},
		"webhook", "--listen", addr, "--tls-cert-file", filepath.Join(certDir, "tls.crt"), "--tls-key-file", filepath.Join(certDir, "tls.key"),
		"--image", testImage, "--namespace", ownNamespace, "--registry-timeout", "3s",
		"--kube-api", c.apiURL, "--kube-token-file", c.tokenFile, "--kube-ca-file", c.apiCAFile)
	if err != nil {
		return err
	}
	_ = cmd
	c.webhookURL = "https://" + addr
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.webhookCA)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if err := waitHTTP(hc, c.webhookURL+"/readyz", "", 30*time.Second); err != nil {
		return fmt.Errorf("azexec webhook did not become ready: %v\n%s", err, c.webhookLog.String())
	}
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: appsNamespace}},
		{ObjectMeta: metav1.ObjectMeta{Name: optInNamespace, Labels: map[string]string{"azexec.io/inject": "enabled"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: ownNamespace}},
	} {
		if _, err := c.client.CoreV1().Namespaces().Create(bg(), ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	cfg, err := c.webhookConfig()
	if err != nil {
		return err
	}
	if _, err = c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(bg(), cfg, metav1.CreateOptions{}); err != nil {
		return err
	}
	// The configuration takes effect a moment after it is stored: wait
	// for a dry-run pod to come back wrapped.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe", Annotations: map[string]string{"azexec.io/inject": "true"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "x:1", Command: []string{"/x"}}}}}
		got, err := c.client.CoreV1().Pods(appsNamespace).Create(bg(), p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && len(got.Spec.InitContainers) > 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the webhook configuration did not take effect\n%s", c.webhookLog.String())
}

func (c *cluster) startEnv(name string, log *syncBuffer, env []string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = c.dir, env
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.procs = append(c.procs, cmd)
	return cmd, nil
}

// webhookConfig is examples/kubernetes/mutatingwebhook.yaml, as users
// apply it, with the Service replaced by the test webhook's URL (same path)
// and the caBundle `azexec webhook certs` printed: the namespaceSelector
// the tests exercise is the documented one.
func (c *cluster) webhookConfig() (*admissionv1.MutatingWebhookConfiguration, error) {
	raw, err := os.ReadFile("../../examples/kubernetes/mutatingwebhook.yaml")
	if err != nil {
		return nil, err
	}
	var cfg admissionv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		return nil, fmt.Errorf("examples/kubernetes/mutatingwebhook.yaml: %v", err)
	}
	cfg.Annotations = nil // no cert-manager here
	for i := range cfg.Webhooks {
		h := &cfg.Webhooks[i]
		if h.ClientConfig.Service == nil || h.ClientConfig.Service.Path == nil {
			return nil, fmt.Errorf("webhook %s has no service path", h.Name)
		}
		url := c.webhookURL + *h.ClientConfig.Service.Path
		h.ClientConfig = admissionv1.WebhookClientConfig{URL: &url, CABundle: c.webhookCA}
	}
	return &cfg, nil
}
