// Command azexec runs a command with an Azure identity: it resolves one
// through the chain the Azure SDKs document for DefaultAzureCredential, then
// hands COMMAND what it needs, without writing a credential to disk.
//
// main stays thin so that the whole command line is testable in-process
// through run.
package main

import (
	"fmt"
	"os"

	"github.com/azexec/azexec/internal/harden"
)

func main() {
	// The kernel's copy of the initial environment first: once azexec is
	// not dumpable it cannot open its own /proc/self/environ.
	captureInitialEnviron()
	// Then, before any secret is read, close the process to COMMAND and
	// to core dumps (see package harden).
	if err := harden.Process(); err != nil {
		fmt.Fprintf(os.Stderr, "azexec: warning: cannot protect azexec's memory from other processes of this user: %s\n", err)
	}
	takeKeyringPassword()
	replaceProcess = true
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
