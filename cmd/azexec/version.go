package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version and commit name a release build. They are empty in the source:
// a release sets them with
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD)"
//
// Without them the build information the Go toolchain embeds is used: the
// module version of `go install ...@v1.2.3`, the commit of a build from a
// git checkout.
var version, commit string

// buildInfo is what `azexec version` prints: enough to tell which build a
// bug report is about.
type buildInfo struct {
	Version   string // v1.2.3, a pseudo-version, or (devel)
	Commit    string // "" when unknown
	Modified  bool   // built from a checkout with uncommitted changes
	GoVersion string // go1.26.0
	Platform  string // linux/amd64
}

// readBuildInfo combines the -ldflags values with the embedded build
// information; bi is nil when the binary carries none.
func readBuildInfo(bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		b.GoVersion = bi.GoVersion
		if b.Version == "" && bi.Main.Version != "" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true" && commit == ""
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	return b
}

// currentBuild is readBuildInfo for this binary.
func currentBuild() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return readBuildInfo(bi)
}

// printVersion writes the version, the commit and the Go version.
func printVersion(w io.Writer, b buildInfo) error {
	c := b.Commit
	switch {
	case c == "":
		c = "unknown"
	case b.Modified:
		c += " (modified)"
	}
	_, err := fmt.Fprintf(w, "azexec %s\ncommit: %s\ngo:     %s %s\n", b.Version, c, b.GoVersion, b.Platform)
	return err
}

// versionFlag is the app's --version; a flag of the app alone, not a
// global option that every subcommand would accept.
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Usage: "print the version, the commit and the Go version, and exit"}
}

func versionCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:        "version",
		Usage:       "print the version, the commit and the Go version",
		Description: "The same as azexec --version. Quote it in a bug report.",
		Action: func(c *cli.Context) error {
			if err := noArgs(c, "azexec version"); err != nil {
				return err
			}
			return printVersion(io.out, currentBuild())
		},
	}
}
