// Package providers holds what azexec fetches with a resolved identity:
// access tokens for scopes (with aliases that follow the selected cloud),
// and Azure Key Vault secrets.
//
// Tokens always come from the identity's credential, which caches per
// tenant and scope, so asking twice for one scope costs one request.
//
// It also speaks the protocols of the tools that ask a program for a
// credential (execcred.go: kubectl's ExecCredential; gitcred.go: git's
// credential helper protocol; acr.go: the Azure Container Registry token
// exchange behind docker's credential helpers), kept apart from the
// command line so that each is unit-tested and fuzzed on its own.
package providers
