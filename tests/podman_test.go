package tests

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
	"sync"
	"testing"
	"time"

	"github.com/azexec/azexec/tests/testenv"
)

// This file runs azexec in a real container engine: rootful podman from
// Debian, with the settings these machines need (docs/containers.md):
// runc, not crun; ulimits podman may set without CAP_SYS_RESOURCE; no
// sysctls (the container shares a network namespace); and the test's own
// loopback-only network namespace as the container's network, so that the
// container, the fake Azure and `azexec serve` talk over 127.0.0.1 only.
// Images are built FROM scratch from static binaries the test builds; no
// registry is used. Every podman call has its own storage root, run root
// and tmp dir under the test's temporary directory, so runs in parallel or
// one after another never share a container or an image.

// podmanConf is the containers.conf every podman call of the tests reads.
const podmanConf = `[containers]
default_sysctls = []
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`

// podmanTimeout bounds one podman call: a guard against a hang, not a
// claim about speed.
const podmanTimeout = 5 * time.Minute

// privatePodman is podman with a storage of its own.
type privatePodman struct {
	bin  string
	args []string // --root, --runroot, --tmpdir, --storage-driver
	env  []string // CONTAINERS_CONF, a HOME of its own
}

// newPodman returns t's private podman, or skips t, saying why, where
// rootful podman with runc cannot run.
func newPodman(t *testing.T) *privatePodman {
	t.Helper()
	bin, err := testenv.Lookup("podman")
	if err != nil {
		t.Skip("container tests skipped: podman is not installed (.ci/run installs podman and runc)")
	}
	if _, err := testenv.Lookup("runc"); err != nil {
		if _, err := os.Stat("/usr/sbin/runc"); err != nil {
			t.Skip("container tests skipped: runc is not installed (.ci/run installs podman and runc)")
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("container tests skipped: they need rootful podman, and the tests do not run as root")
	}
	dir, err := os.MkdirTemp("", "azexec-podman-")
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
	return &privatePodman{
		bin: bin,
		args: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs"},
		env: []string{"CONTAINERS_CONF=" + conf, "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")},
	}
}

// command is podman with the private storage, then args: what a shell
// would run, as a list.
func (p *privatePodman) command(args ...string) []string {
	return slices.Concat([]string{p.bin}, p.args, args)
}

// run runs podman args with the machine's PATH and fails t on error.
func (p *privatePodman) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), podmanTimeout)
	defer cancel()
	argv := p.command(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = setEnv(os.Environ(), p.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// buildStatic builds the Go package pkg of this module as a static binary
// (CGO_ENABLED=0), which runs on scratch.
func buildStatic(pkg, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = ".."
	cmd.Env = setEnv(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// containerImages builds the two images of the test: the azexec image,
// by contrib/image/build.sh as a user builds it (with the fake's CA as
// its trust roots), and the app image, which copies azexec from it and
// holds the Go SDK client (tests/interop/gochild).
func containerImages(t *testing.T, pm *privatePodman, caFile string) (azexecImage, appImage string) {
	t.Helper()
	dir := t.TempDir()
	azexecStatic, app := filepath.Join(dir, "azexec"), filepath.Join(dir, "app")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, b := range []struct{ pkg, out string }{{"./cmd/azexec", azexecStatic}, {"./tests/interop/gochild", app}} {
		wg.Go(func() { errs[i] = buildStatic(b.pkg, b.out) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	suffix := randomHex(6)
	azexecImage, appImage = "localhost/azexec-test-"+suffix+":t", "localhost/azexec-app-"+suffix+":t"
	t.Cleanup(func() {
		argv := pm.command("rmi", "-f", appImage, azexecImage)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = setEnv(os.Environ(), pm.env...)
		_ = cmd.Run()
	})
	build := exec.Command("../contrib/image/build.sh", "--tag", azexecImage, "--binary", azexecStatic, "--ca-bundle", caFile)
	build.Env = setEnv(os.Environ(), append(pm.env, "ENGINE="+strings.Join(pm.command(), " "))...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("contrib/image/build.sh: %v\n%s", err, out)
	}
	// The app's image takes azexec as docs/containers.md tells users to
	// put it into their own: COPY --from the azexec image.
	containerfile := "FROM scratch\n" +
		"COPY --from=" + azexecImage + " /azexec /azexec\n" +
		"COPY --from=" + azexecImage + " /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n" +
		"COPY app /app\n" +
		"USER 65532:65532\n" +
		"ENTRYPOINT [\"/azexec\", \"--\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(containerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	pm.run(t, "build", "--pull=never", "-q", "-t", appImage, "-f", filepath.Join(dir, "Containerfile"), dir)
	return azexecImage, appImage
}

// TestContainerPodman is the whole story of docs/containers.md in a real
// engine. On the host, `azexec serve` holds a service principal and runs
// `podman run`, which passes the endpoint's variables to the container by
// name. In the container, azexec is the entrypoint: it finds the host's
// endpoint by a host name (host.containers.internal), resolves the Key
// Vault reference in the container's environment through it, and execs
// the app, whose Go SDK (DefaultAzureCredential, azsecrets) reads a secret
// through the same endpoint. The container's configuration, as podman
// inspect shows it, holds no client secret and no secret value: only the
// endpoint's variables, the header and the reference.
func TestContainerPodman(t *testing.T) {
	t.Parallel()
	pm := newPodman(t)
	f := startFake(t)
	p := f.newSP()
	p.tenant = f.Tenant()
	f.AddServicePrincipal(p.tenant, p.client, p.secret)
	host := f.vaultHost(t, "kv-ctr")
	refValue, sdkValue := "ref-value-"+randomHex(8), "sdk-value-"+randomHex(8)
	f.setSecret(t, "kv-ctr", "app-secret", "", refValue)
	f.setSecret(t, "kv-ctr", "sdk-secret", "", sdkValue)
	_, appImage := containerImages(t, pm, f.CAFile)

	name := "azexec-test-" + randomHex(6)
	t.Cleanup(func() {
		argv := pm.command("rm", "-f", name)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = setEnv(os.Environ(), pm.env...)
		_ = cmd.Run()
	})
	run := pm.command("run", "--name", name,
		"--network", fmt.Sprintf("ns:/proc/%d/ns/net", os.Getpid()),
		"--add-host", "host.containers.internal:127.0.0.1",
		// By name: the values come from serve, through podman's environment.
		"-e", "IDENTITY_ENDPOINT", "-e", "IDENTITY_HEADER", "-e", "MSI_ENDPOINT",
		// A careless run passes the service principal on too: serve has
		// removed it from COMMAND's environment, so nothing arrives.
		"-e", "AZURE_CLIENT_SECRET", "-e", "AZURE_CLIENT_ID", "-e", "AZURE_TENANT_ID",
		"-e", consent(host),
		"-e", "APP_SECRET=keyvault://"+host+"/app-secret",
		appImage, "/app", "https://"+host, "sdk-secret", "APP_SECRET")
	env := kvEnv(f, p, pm.env...)
	r := runAzexecResult(t, env, "", slices.Concat([]string{"serve", "--advertise", "host.containers.internal", "--"}, run)...)
	if r.code != 0 { // the configuration is checked all the same
		t.Errorf("azexec serve -- podman run: status %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("go-child: env APP_SECRET: %d characters, sha256 %x\n", len(refValue), sha256.Sum256([]byte(refValue))),
		fmt.Sprintf("go-child: read sdk-secret: %d characters, sha256 %x\n", len(sdkValue), sha256.Sum256([]byte(sdkValue))),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the app's output lacks %q", want)
		}
	}
	for _, v := range []string{p.secret, refValue, sdkValue} {
		if strings.Contains(r.stdout+r.stderr, v) {
			t.Errorf("a secret value is in the output")
		}
	}
	checkInspect(t, pm.run(t, "inspect", name), host, p.secret, refValue, sdkValue)
}

// checkInspect reads podman inspect's JSON of the container: no secret
// anywhere in it, and in its environment only the variables a container of
// azexec's needs.
func checkInspect(t *testing.T, inspect, host string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(inspect, s) {
			t.Errorf("podman inspect shows a secret value")
		}
	}
	var cs []struct {
		Config struct{ Env []string }
	}
	if err := json.Unmarshal([]byte(inspect), &cs); err != nil || len(cs) != 1 {
		t.Fatalf("podman inspect: %v\n%s", err, inspect)
	}
	// What podman and the image set, then what the run passed.
	allowed := map[string]bool{"PATH": true, "TERM": true, "container": true, "HOSTNAME": true, "HOME": true,
		"IDENTITY_ENDPOINT": true, "IDENTITY_HEADER": true, "MSI_ENDPOINT": true,
		"AZEXEC_KEYVAULT_EMULATOR": true, "APP_SECRET": true, "AZURE_CLIENT_ID": true, "AZURE_TENANT_ID": true}
	seen := map[string]string{}
	for _, kv := range cs[0].Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		seen[k] = v
		if !allowed[k] {
			t.Errorf("the container's configuration holds %s", k)
		}
	}
	if seen["APP_SECRET"] != "keyvault://"+host+"/app-secret" {
		t.Errorf("APP_SECRET in the container's configuration is not the reference")
	}
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT"} {
		if seen[k] == "" {
			t.Errorf("the container's configuration lacks %s", k)
		}
	}
	if !strings.HasPrefix(seen["IDENTITY_ENDPOINT"], "http://host.containers.internal:") {
		t.Errorf("IDENTITY_ENDPOINT %q does not name the host by name", seen["IDENTITY_ENDPOINT"])
	}
}
