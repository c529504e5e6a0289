package providers

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/azexec/azexec/internal/fail"
)

// twoUsers is what `az aks get-credentials` (legacy azure auth provider)
// and a kubelogin-converted cluster look like side by side, with a
// certificate user that must stay untouched, and one context.
const twoUsers = `apiVersion: v1
kind: Config
clusters:
  - name: aks1
    cluster:
      server: https://aks1.hcp.westeurope.azmk8s.io:443
      certificate-authority-data: bm90IGEgcmVhbCBjZXJ0aWZpY2F0ZQo=
contexts:
  - name: aks1
    context:
      cluster: aks1
      user: clusterUser_rg_aks1 # the az aks get-credentials user
current-context: aks1
users:
  - name: clusterUser_rg_aks1
    user:
      auth-provider:
        name: azure
        config:
          apiserver-id: 6dae42f8-4368-4678-94ff-3960e28e3630
          client-id: 80faf920-1908-4b52-b5ef-a8e7bedfc67a
          config-mode: "1"
          environment: AzurePublicCloud
          tenant-id: 72f988bf-86f1-41af-91ab-2d7cd011db47
  - name: kubelogin-user
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: kubelogin
        args: [get-token, --login, azurecli, --server-id, 11111111-2222-3333-4444-555555555555]
        installHint: keep this hint
  - name: admin
    user:
      client-certificate-data: Y2VydA==
      client-key-data: a2V5
`

type kcUser struct {
	Name string `yaml:"name"`
	User struct {
		AuthProvider any `yaml:"auth-provider"`
		Exec         *struct {
			APIVersion      string   `yaml:"apiVersion"`
			Command         string   `yaml:"command"`
			Args            []string `yaml:"args"`
			InteractiveMode string   `yaml:"interactiveMode"`
			InstallHint     string   `yaml:"installHint"`
		} `yaml:"exec"`
		ClientKeyData string `yaml:"client-key-data"`
	} `yaml:"user"`
}

type kcFile struct {
	APIVersion     string `yaml:"apiVersion"`
	CurrentContext string `yaml:"current-context"`
	Clusters       []any  `yaml:"clusters"`
	Contexts       []any  `yaml:"contexts"`
	Users          []kcUser
}

func decodeKC(t *testing.T, b []byte) kcFile {
	t.Helper()
	var f kcFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return f
}

func TestConvertKubeconfigAll(t *testing.T) {
	out, done, err := ConvertKubeconfig([]byte(twoUsers), KubeconfigOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[0].ServerID != AKSServerID || done[1].ServerID != "11111111-2222-3333-4444-555555555555" {
		t.Fatalf("converted %+v", done)
	}
	f := decodeKC(t, out)
	if f.CurrentContext != "aks1" || len(f.Clusters) != 1 || len(f.Contexts) != 1 || len(f.Users) != 3 {
		t.Fatalf("structure lost: %+v", f)
	}
	for i, want := range []string{AKSServerID, "11111111-2222-3333-4444-555555555555"} {
		u := f.Users[i]
		if u.User.AuthProvider != nil || u.User.Exec == nil {
			t.Fatalf("user %s not converted: %+v", u.Name, u.User)
		}
		e := u.User.Exec
		if e.Command != "azexec" || e.APIVersion != ExecCredentialV1beta1 || e.InteractiveMode != "Never" ||
			strings.Join(e.Args, " ") != "token --resource "+want+" --format exec-credential" {
			t.Errorf("user %s exec = %+v", u.Name, e)
		}
	}
	if f.Users[1].User.Exec.InstallHint != "keep this hint" {
		t.Errorf("kubelogin user's install hint not kept: %q", f.Users[1].User.Exec.InstallHint)
	}
	if f.Users[2].User.Exec != nil || f.Users[2].User.ClientKeyData != "a2V5" {
		t.Errorf("certificate user changed: %+v", f.Users[2].User)
	}
	if !strings.Contains(string(out), "# the az aks get-credentials user") {
		t.Error("comment lost")
	}
	// Converting again changes nothing: azexec users are recognised.
	again, done2, err := ConvertKubeconfig(out, KubeconfigOptions{})
	if err != nil || string(again) != string(out) || len(done2) != 2 {
		t.Errorf("second conversion differs (err %v):\n%s", err, again)
	}
}

func TestConvertKubeconfigContext(t *testing.T) {
	out, done, err := ConvertKubeconfig([]byte(twoUsers), KubeconfigOptions{Context: "aks1", Command: "/opt/azexec", ServerID: "aks"})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].Name != "clusterUser_rg_aks1" {
		t.Fatalf("converted %+v", done)
	}
	f := decodeKC(t, out)
	if e := f.Users[0].User.Exec; e == nil || e.Command != "/opt/azexec" || e.Args[2] != "aks" {
		t.Errorf("context user: %+v", f.Users[0].User)
	}
	if e := f.Users[1].User.Exec; e.Command != "kubelogin" {
		t.Errorf("user of no selected context changed: %+v", e)
	}
}

func TestConvertKubeconfigErrors(t *testing.T) {
	cases := map[string]struct {
		in   string
		o    KubeconfigOptions
		want string
	}{
		"not yaml":        {"users: [\n", KubeconfigOptions{}, "YAML syntax error"},
		"scalar":          {"hello\n", KubeconfigOptions{}, "no mapping"},
		"unknown context": {twoUsers, KubeconfigOptions{Context: "nope"}, `no context named "nope"`},
		"no server id":    {"users:\n- name: u\n  user:\n    auth-provider:\n      name: azure\n", KubeconfigOptions{}, "names no server id"},
		"cert context": {strings.Replace(twoUsers, "user: clusterUser_rg_aks1", "user: admin", 1),
			KubeconfigOptions{Context: "aks1"}, "does not sign in to Entra ID"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := ConvertKubeconfig([]byte(c.in), c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) || fail.KindOf(err) != fail.Usage {
				t.Errorf("err %v; want usage error containing %q", err, c.want)
			}
		})
	}
}

func FuzzConvertKubeconfig(f *testing.F) {
	f.Add([]byte(twoUsers), "")
	f.Add([]byte("users:\n- name: u\n  user:\n    exec:\n      command: azexec\n      args: [token, --resource=x]\n"), "u")
	f.Fuzz(func(t *testing.T, data []byte, ctx string) {
		out, _, err := ConvertKubeconfig(data, KubeconfigOptions{Context: ctx, ServerID: "s"})
		if err != nil {
			return
		}
		// What it writes, it reads again, to the same result.
		again, _, err := ConvertKubeconfig(out, KubeconfigOptions{Context: ctx, ServerID: "s"})
		if err != nil {
			t.Fatalf("output not convertible: %v\n%s", err, out)
		}
		if string(again) != string(out) {
			t.Fatalf("not idempotent:\n%s\n---\n%s", out, again)
		}
	})
}
