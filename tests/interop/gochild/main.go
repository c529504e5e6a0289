// Command gochild is a child that knows nothing of azexec: it uses the
// Azure SDK for Go's DefaultAzureCredential, as an application would, and
// prints the length and a digest of one Key Vault secret (never the value).
// Usage: gochild VAULT_URL SECRET_NAME [VARIABLE...]
//
// For each VARIABLE it also prints the length and digest of that
// environment variable, so a test sees what an app received (a resolved
// reference, say) without the value on any output.
package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func main() {
	for _, name := range os.Args[3:] {
		v := os.Getenv(name)
		fmt.Printf("go-child: env %s: %d characters, sha256 %x\n", name, len(v), sha256.Sum256([]byte(v)))
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "go-child:", err)
		os.Exit(1)
	}
}

func run(vaultURL, name string) error {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return err
	}
	// The fake vault is on 127.0.0.1: relax the challenge-resource check.
	client, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{DisableChallengeResourceVerification: true})
	if err != nil {
		return err
	}
	resp, err := client.GetSecret(context.Background(), name, "", nil)
	if err != nil {
		return err
	}
	fmt.Printf("go-child: read %s: %d characters, sha256 %x\n", name, len(*resp.Value), sha256.Sum256([]byte(*resp.Value)))
	return nil
}
