package tests

// The tests must pass on the machines azexec's users have: /usr/bin holds a
// logged-in az, azd, kubectl, docker and git, and HOME holds ~/.azure. This
// file checks that azexec, in these tests, can reach none of it, and gives
// the interop tests the one way to use a real tool on purpose.
// tests/hostile-machine.sh proves the whole: it runs the suite and the demo
// with a logged-in stub az first on PATH (and at /usr/bin/az) and a fake
// ~/.azure, and fails if the stub ran or HOME changed.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/azexec/azexec/tests/testenv"
)

// realTool returns the absolute path of the machine's program name, for a
// test that runs it on purpose (interop: python3, node). Its directory is
// not put on any PATH. For python3 it is the interpreter itself, see
// pythonExecutable.
func realTool(t *testing.T, name string) string {
	t.Helper()
	var path string
	var err error
	if name == "python3" {
		path, err = pythonExecutable()
	} else {
		path, err = testenv.Lookup(name)
	}
	if err != nil {
		t.Fatalf("%s is needed by this test: %v", name, err)
	}
	return path
}

// pythonExecutable is the first python3 on the test process's PATH that
// runs and names its interpreter (sys.executable). What PATH finds first
// may be a version manager's shim (pyenv's is a bash script that needs the
// developer's PATH and HOME), useless in a test's clean environment.
var pythonExecutable = sync.OnceValues(func() (string, error) {
	var errs []error
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		python := filepath.Join(dir, "python3")
		if fi, err := os.Stat(python); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 || !filepath.IsAbs(python) {
			continue
		}
		out, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output()
		exe := strings.TrimSpace(string(out))
		if err == nil && filepath.IsAbs(exe) {
			return exe, nil
		}
		errs = append(errs, fmt.Errorf("%s: %v", python, err))
	}
	return "", fmt.Errorf("no working python3 on PATH %v", errs)
})

// TestEnvReachesNoMachineLogin performs what a developer's machine does to
// the tests: it offers az, azd and the other CLIs that hold a login (the
// machine's own where installed, and a logged-in stub of each in a
// directory of this test process's PATH). The environment every test gives
// azexec must reach none of them: no directory of its PATH may hold one,
// and HOME, AZURE_CONFIG_DIR and AZD_CONFIG_DIR must lie in the test's own
// scratch directory, never in the developer's HOME.
func TestEnvReachesNoMachineLogin(t *testing.T) {
	f := startFake(t)
	f.writeFakeAz(t, newUUID()) // the test's own stub: this one may be found
	ownAz := filepath.Join(f.binDir, "az")

	// A logged-in az in a directory of the test process's PATH, as on a
	// laptop: the environment must not bring that directory along.
	planted := t.TempDir()
	for _, name := range testenv.CloudTools {
		if err := os.WriteFile(filepath.Join(planted, name), []byte("#!/bin/sh\necho logged-in\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", planted+string(os.PathListSeparator)+os.Getenv("PATH"))
	env := envMap(f.env())
	if env["PATH"] == "" {
		t.Fatal("no PATH in the test environment")
	}
	for _, dir := range filepath.SplitList(env["PATH"]) {
		if dir == planted || dir == "" || !filepath.IsAbs(dir) {
			t.Errorf("PATH entry %q: want an absolute directory of the test's own", dir)
			continue
		}
		if dir != f.binDir && dir != toolsDir {
			t.Errorf("PATH entry %q is neither the test's bin directory nor its tools", dir)
		}
		for _, name := range testenv.CloudTools {
			p := filepath.Join(dir, name)
			if _, err := os.Lstat(p); err == nil && p != ownAz {
				t.Errorf("%s is on the tests' PATH: azexec would use the machine's login", p)
			}
		}
	}
	// What a test's own stub replaces must not be a link to the real one.
	if target, err := os.Readlink(ownAz); err == nil {
		t.Errorf("the test's az is a link to %s", target)
	}

	realHome, _ := os.UserHomeDir()
	for _, name := range []string{"HOME", "AZURE_CONFIG_DIR", "AZD_CONFIG_DIR"} {
		v := env[name]
		if v == "" || !strings.HasPrefix(v, f.dir+string(filepath.Separator)) {
			t.Errorf("%s=%q: want a directory inside the test's scratch directory %s", name, v, f.dir)
		}
		if realHome != "" && (v == realHome || strings.HasPrefix(v, realHome+string(filepath.Separator))) {
			t.Errorf("%s=%q is in the developer's HOME", name, v)
		}
	}
}

// TestLinkToolsRefusesCloudTools: no list of tools, however edited, can
// put a link to the machine's az (or azd, git...) on a test's PATH.
func TestLinkToolsRefusesCloudTools(t *testing.T) {
	for _, name := range testenv.CloudTools {
		dir := t.TempDir()
		if err := testenv.LinkTools(dir, "sh", name); err == nil {
			t.Errorf("LinkTools accepted %q", name)
		}
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			t.Errorf("LinkTools linked %q", name)
		}
	}
}
