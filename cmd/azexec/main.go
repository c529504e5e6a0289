// Command azexec runs a command with an Azure identity: it resolves one
// through the chain the Azure SDKs document for DefaultAzureCredential, then
// hands COMMAND what it needs, without writing a credential to disk.
//
// main stays thin so that the whole command line is testable in-process
// through run.
package main

import "os"

func main() {
	replaceProcess = true
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
