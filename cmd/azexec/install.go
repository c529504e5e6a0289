package main

import (
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/atomicfile"
	"github.com/azexec/azexec/internal/fail"
)

// installCommand is `azexec install DEST`: the azexec image is FROM scratch
// and has no cp, so the webhook's init container copies the binary into
// the pod's shared volume with azexec itself.
func installCommand() *cli.Command {
	return &cli.Command{
		Name:      "install",
		Usage:     "copy this azexec binary to DEST (the Kubernetes webhook's init container runs it)",
		ArgsUsage: "DEST",
		Description: "Writes the running azexec executable to DEST, mode 0755, atomically (a temporary file in\n" +
			"DEST's directory renamed over it), so a reader never sees half a binary.\n\n" +
			"EXAMPLE (what the init container runs):\n   /azexec install /azexec-bin/azexec",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fail.New(fail.Usage, "install takes one destination path").WithHint("azexec install /azexec-bin/azexec")
			}
			return runInstall(c.Args().First())
		},
	}
}

func runInstall(dest string) error {
	self, err := os.Executable()
	if err != nil {
		return fail.New(fail.Usage, "cannot find the azexec executable: %v", err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return fail.New(fail.Usage, "reading %q: %v", self, err)
	}
	if err := atomicfile.Write(dest, "."+filepath.Base(dest)+"-*", data, 0o755); err != nil {
		return fail.New(fail.Usage, "installing azexec to %q: %v", dest, err).
			WithHint("DEST's directory must exist and be writable (the webhook mounts an emptyDir there)")
	}
	return nil
}
