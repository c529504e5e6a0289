package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// endpointVars are what a container needs from `azexec serve`, and what
// the examples must pass by name.
var endpointVars = []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT"}

// credentialVars must never be given to a container by an example.
var credentialVars = []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
	"AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE", "ARM_CLIENT_SECRET"}

// TestExamplesDockerRun runs examples/docker-run.sh as it is, under the
// real azexec serve, with a stub docker that records what docker would
// have received: the endpoint's variables in its environment (under the
// name the container knows the host by), passed with -e NAME so that no
// value is on the command line, and no service principal secret.
func TestExamplesDockerRun(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.newSP()
	dir := t.TempDir()
	dump, args := filepath.Join(dir, "env"), filepath.Join(dir, "args")
	docker := f.writeProgram(t, "docker-stub", `env -0 > "$DUMP"; printf '%s\n' "$@" > "$ARGS"`)
	script, err := filepath.Abs("../examples/docker-run.sh")
	if err != nil {
		t.Fatal(err)
	}
	env := f.env(append(p.env(), "AZEXEC="+azexecBin, "DOCKER="+docker, "BRIDGE=127.0.0.1", "IMAGE=example:1",
		"DUMP="+dump, "ARGS="+args)...)
	cmd := exec.Command("sh", script)
	cmd.Env, cmd.Dir = env, dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("examples/docker-run.sh: %v\n%s", err, out)
	}
	got := readDump(t, dump)
	if !strings.HasPrefix(got["IDENTITY_ENDPOINT"], "http://host.docker.internal:") {
		t.Errorf("docker's IDENTITY_ENDPOINT is %q; want the host named host.docker.internal", got["IDENTITY_ENDPOINT"])
	}
	for _, k := range endpointVars {
		if got[k] == "" {
			t.Errorf("docker did not receive %s", k)
		}
	}
	for _, k := range credentialVars {
		if _, ok := got[k]; ok {
			t.Errorf("docker received %s", k)
		}
	}
	b, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, k := range endpointVars {
		if i := slices.Index(argv, k); i < 1 || argv[i-1] != "-e" {
			t.Errorf("docker run does not pass %s by name: %q", k, argv)
		}
	}
	if strings.Contains(string(b), got["IDENTITY_HEADER"]) || strings.Contains(string(b), p.secret) {
		t.Errorf("a secret is on docker's command line")
	}
}

// TestExamplesCompose reads examples/compose.yaml: the endpoint's
// variables are passed by name, every other value given is a Key Vault
// reference, and no credential variable is named.
func TestExamplesCompose(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../examples/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string   `yaml:"image"`
			Environment []string `yaml:"environment"`
			ExtraHosts  []string `yaml:"extra_hosts"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	app, ok := c.Services["app"]
	if !ok || app.Image == "" {
		t.Fatalf("compose.yaml has no service app with an image: %+v", c)
	}
	checkContainerEnv(t, "compose.yaml", app.Environment)
	if !slices.Contains(app.ExtraHosts, "host.docker.internal:host-gateway") {
		t.Errorf("compose.yaml: extra_hosts %q lacks host.docker.internal:host-gateway", app.ExtraHosts)
	}
}

// TestExamplesDevcontainer reads examples/.devcontainer/devcontainer.json:
// it takes the endpoint's variables from the host's environment by name
// and no credential.
func TestExamplesDevcontainer(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../examples/.devcontainer/devcontainer.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Image        string            `json:"image"`
		RunArgs      []string          `json:"runArgs"`
		ContainerEnv map[string]string `json:"containerEnv"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("devcontainer.json: %v", err)
	}
	var env []string
	for k, v := range d.ContainerEnv {
		if v != "${localEnv:"+k+"}" {
			t.Errorf("devcontainer.json: %s is %q; want it from the host's environment, ${localEnv:%s}", k, v, k)
		}
		env = append(env, k)
	}
	checkContainerEnv(t, "devcontainer.json", env)
	if !slices.Contains(d.RunArgs, "--add-host=host.docker.internal:host-gateway") {
		t.Errorf("devcontainer.json: runArgs %q lack --add-host=host.docker.internal:host-gateway", d.RunArgs)
	}
}

// checkContainerEnv checks a container's environment as an example
// writes it: NAME alone (passed by name) or NAME=keyvault://...
func checkContainerEnv(t *testing.T, file string, env []string) {
	t.Helper()
	names := map[string]bool{}
	for _, e := range env {
		k, v, hasValue := strings.Cut(e, "=")
		names[k] = true
		if slices.Contains(endpointVars, k) && hasValue {
			t.Errorf("%s: %s is given a value; pass it by name", file, k)
		}
		if hasValue && !strings.HasPrefix(v, "keyvault://") {
			t.Errorf("%s: %s has a value that is not a Key Vault reference", file, k)
		}
		if slices.Contains(credentialVars, k) {
			t.Errorf("%s: names the credential %s", file, k)
		}
	}
	for _, k := range endpointVars {
		if !names[k] {
			t.Errorf("%s: does not pass %s", file, k)
		}
	}
}
