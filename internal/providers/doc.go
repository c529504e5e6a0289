// Package providers holds what azexec fetches with a resolved identity:
// access tokens for scopes (with aliases that follow the selected cloud),
// and Azure Key Vault secrets.
//
// Tokens always come from the identity's credential, which caches per
// tenant and scope, so asking twice for one scope costs one request.
package providers
