package testenv

// This file gives tests a PATH of their own. On a developer's machine
// /usr/bin holds sh and env next to az, azd, kubectl, docker and git; a
// PATH of "/usr/bin:/bin" hands azexec the developer's real Azure CLI and
// its login, so a test of "nothing configured" passes on a bare CI runner
// and fails on every laptop. A test's PATH is instead made of directories
// the test owns: one of symbolic links to the few plain tools its shell
// children use (LinkTools, Tools), and one for the stubs it writes itself.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// BaseTools are the programs a test's shell children may run by name:
// POSIX shell and text tools, none of which reads an Azure login.
var BaseTools = []string{
	"sh", "env", "printenv", "cat", "cut", "head", "tail", "tr", "wc", "grep", "sed", "sort",
	"sleep", "true", "false", "touch", "mkdir", "rm", "mv", "ls", "id", "kill", "tee", "od",
	"sha256sum", "base64", "date", "dirname", "basename", "mktemp", "chmod", "stat", "seq",
	"less", "stty",
}

// CloudTools are the programs a test must never find by name, because the
// machine's copy reads or writes a real login: the identity sources azexec
// runs (az, azd) and the clients azexec's plugins serve. A test that runs
// one on purpose (interop) asks for it by absolute path with Lookup.
var CloudTools = []string{"az", "azd", "kubectl", "kubelogin", "docker", "git", "node", "pwsh", "gh"}

var (
	lookMu     sync.Mutex
	lookCached = map[string]lookResult{}
)

type lookResult struct {
	path string
	err  error
}

// Lookup returns the absolute path of the machine's program name, found
// once per test process on the PATH the tests were started with. It is
// for tests that use a real tool on purpose; their children still get a
// PATH without it.
func Lookup(name string) (string, error) {
	lookMu.Lock()
	defer lookMu.Unlock()
	if r, ok := lookCached[name]; ok {
		return r.path, r.err
	}
	path, err := exec.LookPath(name)
	if err == nil {
		path, err = filepath.Abs(path)
	}
	lookCached[name] = lookResult{path, err}
	return path, err
}

// LinkTools fills dir (created if missing) with a symbolic link named
// after each of names to the machine's program of that name. A name the
// machine lacks is left out, so a test that needs it fails with "not
// found" instead of reaching for something else. It refuses CloudTools:
// those are exactly what a test's PATH must not hold. sh is required.
func LinkTools(dir string, names ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		if slices.Contains(CloudTools, name) {
			return fmt.Errorf("testenv: %q reads a real login and may not be on a test's PATH", name)
		}
		path, err := Lookup(name)
		if err != nil {
			if name == "sh" {
				return fmt.Errorf("testenv: %w", err)
			}
			continue
		}
		if err := os.Symlink(path, filepath.Join(dir, name)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	return nil
}

// Tools returns a new directory of t's, holding links to BaseTools and
// nothing else: the part of a test's PATH that is not the test's own
// stubs.
func Tools(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := LinkTools(dir, BaseTools...); err != nil {
		t.Fatal(err)
	}
	return dir
}
