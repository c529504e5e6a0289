package kube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/azexec/azexec/tests/fakeazure"
	"github.com/azexec/azexec/tests/testenv"
)

// This file runs a pod the webhook mutated, as the kubelet would, in rootful
// podman (the settings of docs/containers.md: runc, ulimits podman may set
// here, no sysctls, the test's loopback-only network namespace): the
// stored init container installs azexec from the azexec image
// (contrib/image) into a shared directory standing in for the emptyDir,
// then the stored app container runs with that directory read-only, a
// workload identity token file and the pod's env, against the fake Azure.
// The app image holds only the app and a CA bundle: no azexec.

const podmanConf = `[containers]
default_sysctls = []
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`

type podman struct {
	argv []string
	env  []string
}

func newPodman(t *testing.T) *podman {
	t.Helper()
	bin, err := testenv.Lookup("podman")
	if err != nil {
		t.Skip("podman is not installed (.ci/run installs podman and runc)")
	}
	if os.Geteuid() != 0 {
		t.Skip("the podman test needs rootful podman, and the tests do not run as root")
	}
	dir, err := os.MkdirTemp("", "azexec-kube-podman-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(podmanConf), 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return &podman{
		argv: []string{bin, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs"},
		env: []string{"CONTAINERS_CONF=" + conf, "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")},
	}
}

func (p *podman) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	argv := append(slices.Clone(p.argv), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

func buildStatic(t *testing.T, dir, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// TestMutatedPodRunsUnderPodman: the pod as stored, run, resolves its
// reference with its workload identity.
func TestMutatedPodRunsUnderPodman(t *testing.T) {
	pm := newPodman(t)
	f, err := fakeazure.Start(fakeazure.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	client, assertion := "11111111-2222-4333-8444-"+randomHex(6), "federated-"+randomHex(24)
	f.AddFederated(f.Tenant(), client, assertion)
	vaultURL, err := f.AddVault("kv-pod")
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(vaultURL, "https://")
	value := "db-password-" + randomHex(12)
	if err := f.SetSecret("kv-pod", "db-password", "", value); err != nil {
		t.Fatal(err)
	}

	// The images: the azexec image as contrib/image/build.sh builds it,
	// under the name the webhook puts in its init container; the app's
	// image with the app and a CA bundle (the fake's) only.
	dir := t.TempDir()
	azexecStatic, appBin := filepath.Join(dir, "azexec"), filepath.Join(dir, "app")
	buildStatic(t, "../..", "./cmd/azexec", azexecStatic)
	buildStatic(t, ".", "./showenv", appBin)
	build := exec.Command("../../contrib/image/build.sh", "--tag", testImage, "--binary", azexecStatic, "--ca-bundle", f.CAFile)
	build.Env = append(os.Environ(), append(pm.env, "ENGINE="+strings.Join(pm.argv, " "))...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("contrib/image/build.sh: %v\n%s", err, out)
	}
	ca, err := os.ReadFile(f.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	appImage := "localhost/azexec-kube-app:" + randomHex(4)
	containerfile := "FROM scratch\nCOPY ca.crt /etc/ssl/certs/ca-certificates.crt\nCOPY app /app\nUSER 65532:65532\n"
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(containerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	pm.run(t, "build", "--pull=never", "-q", "-t", appImage, "-f", filepath.Join(dir, "Containerfile"), dir)

	// The pod, through the API server. Its workload identity variables are
	// what the azure-workload-identity webhook adds; the authority host
	// and the vault's consent point azexec at the fake.
	tokenPath := "/var/run/secrets/azure/tokens/azure-identity-token"
	pod := newPod("podman", optIn, corev1.Container{Name: "app", Image: appImage, Command: []string{"/app"}, Args: []string{"DB", "PLAIN"},
		Env: []corev1.EnvVar{
			{Name: "AZURE_CLIENT_ID", Value: client}, {Name: "AZURE_TENANT_ID", Value: f.Tenant()},
			{Name: "AZURE_FEDERATED_TOKEN_FILE", Value: tokenPath}, {Name: "AZURE_AUTHORITY_HOST", Value: f.URL + "/"},
			{Name: "AZEXEC_KEYVAULT_EMULATOR", Value: host},
			{Name: "DB", Value: "keyvault://" + host + "/db-password"}, {Name: "PLAIN", Value: "plain"},
		}})
	pod.Spec.InitContainers = nil
	stored := create(t, appsNamespace, pod)
	checkWrapped(t, stored, []string{wrapper, "--", "/app"}, "app")
	if b, _ := json.Marshal(stored); strings.Contains(string(b), value) || strings.Contains(string(b), assertion) {
		t.Fatal("a secret is in the stored pod")
	}

	// The emptyDir, and the token the kubelet projects.
	emptyDir := filepath.Join(dir, "emptydir")
	if err := os.Mkdir(emptyDir, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(emptyDir, 0o777)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(assertion), 0o644); err != nil {
		t.Fatal(err)
	}
	mounts := func(c corev1.Container) []string {
		var args []string
		for _, m := range c.VolumeMounts {
			if m.Name != "azexec-bin" {
				t.Fatalf("unexpected volume %s", m.Name)
			}
			spec := emptyDir + ":" + m.MountPath
			if m.ReadOnly {
				spec += ":ro"
			}
			args = append(args, "-v", spec)
		}
		return args
	}
	entrypoint := func(c corev1.Container) string {
		b, _ := json.Marshal(c.Command)
		return string(b)
	}
	network := fmt.Sprintf("ns:/proc/%d/ns/net", os.Getpid())
	for _, c := range stored.Spec.InitContainers {
		args := slices.Concat([]string{"run", "--rm", "--network", network, "--read-only", "--cap-drop", "ALL",
			"--user", fmt.Sprint(*c.SecurityContext.RunAsUser)}, mounts(c), []string{"--entrypoint", entrypoint(c), c.Image}, c.Args)
		pm.run(t, args...)
	}
	for _, c := range stored.Spec.Containers {
		args := []string{"run", "--rm", "--network", network, "-v", tokenFile + ":" + tokenPath + ":ro"}
		for _, e := range c.Env {
			args = append(args, "-e", e.Name+"="+e.Value)
		}
		args = slices.Concat(args, mounts(c), []string{"--entrypoint", entrypoint(c), c.Image}, c.Args)
		out := pm.run(t, args...)
		want := fmt.Sprintf("showenv: DB: %d characters, sha256 %x\n", len(value), sha256.Sum256([]byte(value)))
		if !strings.Contains(out, want) || !strings.Contains(out, "showenv: PLAIN: 5 characters") {
			t.Errorf("the app saw:\n%s\nwant %q", out, want)
		}
		if strings.Contains(out, value) {
			t.Error("the value is in the output")
		}
	}
}
