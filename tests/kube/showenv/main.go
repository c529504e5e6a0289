// Command showenv is the app of the podman test: for each variable named
// on its command line it prints the length and SHA-256 of its value, so
// the test sees that a reference was resolved without the value reaching
// any output.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
)

func main() {
	for _, name := range os.Args[1:] {
		v, ok := os.LookupEnv(name)
		if !ok {
			fmt.Printf("showenv: %s: unset\n", name)
			continue
		}
		fmt.Printf("showenv: %s: %d characters, sha256 %x\n", name, len(v), sha256.Sum256([]byte(v)))
	}
}
