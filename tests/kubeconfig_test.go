package tests

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// kubectlPath is the machine's kubectl, used on purpose to check that what
// azexec writes loads and runs with kubectl's own loader; "" where there is
// none (the Go checks still run).
func kubectlPath() string {
	for _, p := range []string{"/usr/bin/kubectl", "/usr/local/bin/kubectl"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// kubeconfigTwoUsers is two Entra ID users (the legacy azure auth
// provider az aks get-credentials wrote, and kubelogin) and one context,
// whose cluster is server.
func kubeconfigTwoUsers(server, caData string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: aks
  cluster:
    server: ` + server + `
    certificate-authority-data: ` + caData + `
contexts:
- name: aks
  context:
    cluster: aks
    user: clusterUser_rg_aks
current-context: aks
users:
- name: clusterUser_rg_aks
  user:
    auth-provider:
      name: azure
      config:
        apiserver-id: 6dae42f8-4368-4678-94ff-3960e28e3630
        client-id: 80faf920-1908-4b52-b5ef-a8e7bedfc67a
        config-mode: "1"
        environment: AzurePublicCloud
        tenant-id: 72f988bf-86f1-41af-91ab-2d7cd011db47
- name: other
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --login, azurecli, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]
`
}

type execBlock struct {
	APIVersion string   `yaml:"apiVersion"`
	Command    string   `yaml:"command"`
	Args       []string `yaml:"args"`
}

// TestKubeconfigConvert converts a kubeconfig as kubelogin convert-kubeconfig
// would, then uses the result as an exec plugin against the fake: by hand,
// and with the machine's kubectl against a test API server that checks the
// bearer token is one the fake issued.
func TestKubeconfigConvert(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()

	var mu sync.Mutex
	var seen []string
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"major":"1","minor":"30","gitVersion":"v1.30.0"}`))
	}))
	t.Cleanup(api.Close)
	caData := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}))
	orig := kubeconfigTwoUsers(api.URL, caData)
	file := f.writeFile(t, "kubeconfig", orig)

	stdout, stderr, code := runAzexec(t, f.env(), "", "kubeconfig", "--kubeconfig", file, "--command", azexecBin)
	if code != 0 || stdout != "" {
		t.Fatalf("status %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	for _, want := range []string{`user "clusterUser_rg_aks" now runs azexec`, `user "other" now runs azexec`, file + ".azexec-backup"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if b, err := os.ReadFile(file + ".azexec-backup"); err != nil || string(b) != orig {
		t.Errorf("backup: %v, same as the original: %v", err, string(b) == orig)
	}
	converted, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var kc struct {
		Users []struct {
			Name string `yaml:"name"`
			User struct {
				AuthProvider any        `yaml:"auth-provider"`
				Exec         *execBlock `yaml:"exec"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(converted, &kc); err != nil || len(kc.Users) != 2 {
		t.Fatalf("converted kubeconfig: %v\n%s", err, converted)
	}
	for _, u := range kc.Users {
		e := u.User.Exec
		if u.User.AuthProvider != nil || e == nil || e.Command != azexecBin ||
			!slices.Equal(e.Args, []string{"token", "--resource", "6dae42f8-4368-4678-94ff-3960e28e3630", "--format", "exec-credential"}) {
			t.Fatalf("user %s: %+v", u.Name, u.User)
		}
	}

	// The exec block, run as client-go runs it.
	e := kc.Users[0].User.Exec
	info := `{"kind":"ExecCredential","apiVersion":"` + e.APIVersion + `","spec":{"interactive":false}}`
	out, stderr, code := runAzexec(t, setEnv(f.env(p.env()...), "KUBERNETES_EXEC_INFO="+info), "", e.Args...)
	if code != 0 {
		t.Fatalf("exec plugin: status %d\n%s", code, stderr)
	}
	checkExecCredential(t, f, out, e.APIVersion)

	// The machine's kubectl, where there is one: it loads the file, runs
	// azexec and sends the token to the cluster.
	kubectl := kubectlPath()
	if kubectl == "" {
		t.Log("no kubectl on this machine: its part is skipped")
		return
	}
	cmd := exec.Command(kubectl, "--kubeconfig", file, "get", "--raw", "/version")
	cmd.Env = f.env(p.env()...)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, got)
	}
	var version map[string]string
	if err := json.Unmarshal(got, &version); err != nil || version["gitVersion"] != "v1.30.0" {
		t.Fatalf("kubectl printed %s", got)
	}
	mu.Lock()
	defer mu.Unlock()
	issued := f.IssuedTokens()
	if len(seen) == 0 || !slices.Contains(issued, seen[0]) {
		t.Errorf("the API server got no token the fake issued (%d requests)", len(seen))
	}
}

// TestKubeconfigExampleLoads: the example loads with kubectl's rules
// (valid base64 where kubectl decodes it), with kubectl itself where the
// machine has one.
func TestKubeconfigExampleLoads(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../examples/kubeconfig-aks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kc struct {
		Clusters []struct {
			Cluster struct {
				Server string `yaml:"server"`
				CAData string `yaml:"certificate-authority-data"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			User struct {
				Exec *execBlock `yaml:"exec"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(b, &kc); err != nil {
		t.Fatal(err)
	}
	for _, c := range kc.Clusters {
		if _, err := base64.StdEncoding.DecodeString(c.Cluster.CAData); err != nil {
			t.Errorf("certificate-authority-data is not base64 (kubectl refuses the file): %v", err)
		}
	}
	if len(kc.Users) != 1 || kc.Users[0].User.Exec == nil || kc.Users[0].User.Exec.Command != "azexec" {
		t.Errorf("users: %+v", kc.Users)
	}
	if kubectl := kubectlPath(); kubectl != "" {
		out, err := exec.Command(kubectl, "config", "view", "--kubeconfig", "../examples/kubeconfig-aks.yaml", "-o", "json").CombinedOutput()
		if err != nil {
			t.Errorf("kubectl config view: %v\n%s", err, out)
		}
	}
}
