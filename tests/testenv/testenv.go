// Package testenv holds what every package of end-to-end tests and
// benchmarks needs before its first test: proof that it runs offline, the
// azexec binary under test, and a PATH of the test's own that cannot reach
// the machine's az or azd (tools.go).
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
)

// RequireOffline fails when any network interface other than loopback is
// up: outside the namespace of tests/offline.sh, the managed identity
// source would probe the real IMDS address.
func RequireOffline() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("network interface %s is up", ifc.Name)
		}
	}
	return nil
}

// BuildTags are the build tags of a release build of azexec.
const BuildTags = "urfave_cli_no_docs"

// BuildAzexec compiles ./cmd/azexec of the module rooted at root into out,
// with the race detector when race is set.
func BuildAzexec(root, out string, race bool) error {
	goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first on PATH
	if err != nil {
		if goroot := os.Getenv("GOROOT"); goroot != "" {
			goTool = filepath.Join(goroot, "bin", "go")
		} else {
			return err
		}
	}
	// BuildTags drops urfave/cli's man-page and markdown renderer, which
	// azexec never uses and whose package initialisation is the largest
	// of the binary's (see docs/performance.md).
	args := []string{"build", "-tags", BuildTags, "-o", out}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "./cmd/azexec")...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}
