package kube

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const wrapper = "/azexec-bin/azexec"

func newPod(name string, ann map[string]string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: corev1.PodSpec{Containers: containers,
			InitContainers: []corev1.Container{{Name: "setup", Image: "busybox:1", Command: []string{"true"}}}}}
}

func app(name string, command ...string) corev1.Container {
	return corev1.Container{Name: name, Image: "registry.example/app:1", Command: command, Args: []string{"--flag"}}
}

var optIn = map[string]string{"azexec.io/inject": "true"}

func create(t *testing.T, ns string, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	got, err := theCluster.client.CoreV1().Pods(ns).Create(ctx(t), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod %s/%s: %v", ns, p.Name, err)
	}
	// What the API server stored, not what it answered.
	stored, err := theCluster.client.CoreV1().Pods(ns).Get(ctx(t), got.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// checkWrapped fails unless the stored pod has exactly one azexec volume
// and init container, and container i's command is the wrapper once.
func checkWrapped(t *testing.T, p *corev1.Pod, wantCommand []string, names ...string) {
	t.Helper()
	vols := 0
	for _, v := range p.Spec.Volumes {
		if v.Name == "azexec-bin" {
			vols++
			if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory {
				t.Errorf("volume is not an in-memory emptyDir: %+v", v)
			}
		}
	}
	inits := 0
	for _, c := range p.Spec.InitContainers {
		if c.Name == "azexec-install" {
			inits++
			if c.Image != testImage || !slices.Equal(c.Command, []string{"/azexec", "install", wrapper}) {
				t.Errorf("init container runs %q %q", c.Image, c.Command)
			}
		} else if len(c.Command) > 0 && c.Command[0] == wrapper {
			t.Errorf("init container %s was wrapped", c.Name)
		}
	}
	if vols != 1 || inits != 1 {
		t.Errorf("pod has %d azexec volumes and %d install containers, want one each", vols, inits)
	}
	for _, c := range p.Spec.Containers {
		if !slices.Contains(names, c.Name) {
			continue
		}
		if !slices.Equal(c.Command, wantCommand) {
			t.Errorf("container %s command %q, want %q", c.Name, c.Command, wantCommand)
		}
		mounts := 0
		for _, m := range c.VolumeMounts {
			if m.Name == "azexec-bin" {
				mounts++
				if !m.ReadOnly || m.MountPath != "/azexec-bin" {
					t.Errorf("container %s mounts %+v", c.Name, m)
				}
			}
		}
		if mounts != 1 {
			t.Errorf("container %s has %d azexec mounts", c.Name, mounts)
		}
	}
}

func checkUnchanged(t *testing.T, p *corev1.Pod) {
	t.Helper()
	b, _ := json.Marshal(p.Spec)
	if strings.Contains(string(b), "azexec") {
		t.Errorf("pod %s/%s was changed: %s", p.Namespace, p.Name, b)
	}
}

func TestOptedInPodIsWrapped(t *testing.T) {
	p := create(t, appsNamespace, newPod("opted-in", optIn, app("web", "/bin/web", "-v"), app("worker", "/bin/worker")))
	for _, c := range p.Spec.Containers {
		want := append([]string{wrapper, "--"}, "/bin/"+c.Name)
		if c.Name == "web" {
			want = append(want, "-v")
		}
		checkWrapped(t, p, want, c.Name)
		if !slices.Equal(c.Args, []string{"--flag"}) {
			t.Errorf("container %s args %q", c.Name, c.Args)
		}
	}
}

func TestContainerSelection(t *testing.T) {
	ann := map[string]string{"azexec.io/inject": "true", "azexec.io/containers": "worker"}
	p := create(t, appsNamespace, newPod("selected", ann, app("web", "/bin/web"), app("worker", "/bin/worker")))
	checkWrapped(t, p, []string{wrapper, "--", "/bin/worker"}, "worker")
	if c := p.Spec.Containers[0]; c.Name != "web" || c.Command[0] == wrapper || len(c.VolumeMounts) != 0 {
		t.Errorf("container web was changed though not chosen: %+v", c)
	}
}

func TestNotOptedInAndKubeSystemUnchanged(t *testing.T) {
	checkUnchanged(t, create(t, appsNamespace, newPod("plain", nil, app("web", "/bin/web"))))
	checkUnchanged(t, create(t, appsNamespace, newPod("opted-out", map[string]string{"azexec.io/inject": "false"}, app("web", "/bin/web"))))
	for _, ns := range []string{"kube-system", ownNamespace} {
		checkUnchanged(t, create(t, ns, newPod("asks", optIn, app("web", "/bin/web"))))
	}
	// A namespace that opted in by label, and a pod in it that opts out.
	p := create(t, optInNamespace, newPod("by-namespace", nil, app("web", "/bin/web")))
	checkWrapped(t, p, []string{wrapper, "--", "/bin/web"}, "web")
	checkUnchanged(t, create(t, optInNamespace, newPod("opted-out", map[string]string{"azexec.io/inject": "false"}, app("web", "/bin/web"))))
}

// TestReinvocationWrapsOnce registers a second webhook that changes every
// pod after azexec's, so the API server calls azexec's again
// (reinvocationPolicy IfNeeded) with its own patch already applied.
func TestReinvocationWrapsOnce(t *testing.T) {
	other := startAnnotatingWebhook(t)
	p := create(t, appsNamespace, newPod("reinvoked", optIn, app("web", "/bin/web")))
	if p.Annotations["test/annotated"] != "yes" {
		t.Fatalf("the second webhook did not run: %v", p.Annotations)
	}
	checkWrapped(t, p, []string{wrapper, "--", "/bin/web"}, "web")
	// Prove it was reinvoked: two admissions logged for this pod.
	n := len(regexp.MustCompile(`admission: namespace=apps pod=reinvoked `).FindAllString(theCluster.webhookLog.String(), -1))
	if n < 2 {
		t.Errorf("azexec's webhook saw the pod %d times, want 2 (reinvocation)\n%s", n, theCluster.webhookLog.String())
	}
	_ = other
}

func TestEntrypointFromRegistry(t *testing.T) {
	r := sharedRegistry(t)
	c := corev1.Container{Name: "app", Image: r.host + "/app/entry:1"}
	p := create(t, appsNamespace, newPod("entry", optIn, c))
	checkWrapped(t, p, []string{wrapper, "--", "/app", "--serve"}, "app")
	if len(p.Spec.Containers[0].Args) != 0 {
		t.Errorf("args %q, want none (the image has no Cmd)", p.Spec.Containers[0].Args)
	}
	c = corev1.Container{Name: "app", Image: r.host + "/app/both:1"}
	p = create(t, appsNamespace, newPod("both", optIn, c))
	checkWrapped(t, p, []string{wrapper, "--", "/app"}, "app")
	if !slices.Equal(p.Spec.Containers[0].Args, []string{"--port", "8080"}) {
		t.Errorf("args %q, want the image's Cmd", p.Spec.Containers[0].Args)
	}
	// The container's own args win over the image's Cmd, as in Kubernetes.
	c.Args = []string{"--mine"}
	p = create(t, appsNamespace, newPod("both-args", optIn, c))
	if !slices.Equal(p.Spec.Containers[0].Args, []string{"--mine"}) {
		t.Errorf("args %q, want the container's", p.Spec.Containers[0].Args)
	}
}

// TestEntrypointWithPullSecret reads a private image's config with the
// pod's imagePullSecret, which the webhook reads from the API server.
func TestEntrypointWithPullSecret(t *testing.T) {
	r := sharedRegistry(t)
	cfg := fmt.Sprintf(`{"auths":{%q:{"username":%q,"password":%q}}}`, r.host, r.user, r.pass)
	_, err := theCluster.client.CoreV1().Secrets(appsNamespace).Create(ctx(t), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pull"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := corev1.Container{Name: "app", Image: r.host + "/private/app:1"}
	pod := newPod("private", optIn, c)
	_, err = theCluster.client.CoreV1().Pods(appsNamespace).Create(ctx(t), pod, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), r.host+"/private/app:1") {
		t.Fatalf("without the pull secret: %v, want a denial naming the image", err)
	}
	pod.Name = "private-with-secret"
	pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "pull"}}
	p := create(t, appsNamespace, pod)
	checkWrapped(t, p, []string{wrapper, "--", "/private-app"}, "app")
	if strings.Contains(theCluster.webhookLog.String(), r.pass) {
		t.Error("the webhook logged the pull secret's password")
	}
}

func TestUnreachableRegistry(t *testing.T) {
	port, err := freePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	image := fmt.Sprintf("127.0.0.1:%d/gone/app:1", port)
	c := corev1.Container{Name: "app", Image: image}
	_, err = theCluster.client.CoreV1().Pods(appsNamespace).Create(ctx(t), newPod("unreachable", optIn, c), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", image)) {
		t.Fatalf("got %v, want a denial naming %s", err, image)
	}
	theCluster.warnings.take()
	ann := map[string]string{"azexec.io/inject": "true", "azexec.io/on-image-error": "admit"}
	p := create(t, appsNamespace, newPod("unreachable-admitted", ann, c))
	checkUnchanged(t, p)
	w := theCluster.warnings.take()
	if !slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, image) }) {
		t.Errorf("warnings %q, want one naming %s", w, image)
	}
}

// TestAdmissionLogHasNoValues checks the webhook's one line per admission:
// names and decisions, never an env value or an argument.
func TestAdmissionLogHasNoValues(t *testing.T) {
	c := app("web", "/bin/web", "--password=hunter2-"+randomHex(4))
	c.Env = []corev1.EnvVar{{Name: "DB", Value: "keyvault://vault/db-" + randomHex(4)}}
	create(t, appsNamespace, newPod("logged", optIn, c))
	log := theCluster.webhookLog.String()
	if !strings.Contains(log, "admission: namespace=apps pod=logged containers=web decision=wrapped") {
		t.Errorf("no admission line for the pod:\n%s", log)
	}
	for _, v := range []string{c.Command[1], c.Env[0].Value} {
		if strings.Contains(log, v) {
			t.Errorf("log holds %q", v)
		}
	}
}
