// Package resolve finds the Azure identity azexec acts as.
//
// It follows the order the Azure SDKs document for DefaultAzureCredential
// (environment, workload identity, managed identity, Azure CLI, Azure
// Developer CLI) and inserts the legacy SDK auth file after the environment,
// because both are explicit, local configuration. Each source is a small type
// that first decides, without network traffic, whether it is configured at
// all; the chain then proves the first configured source by acquiring one
// token, because nothing in the SDK authenticates before a request is made.
//
// The chain keeps an Attempt for every source it looked at, so that `azexec
// whoami` and error messages can say why each source was skipped or failed.
// A source that is merely unavailable lets the chain move on; an
// authentication failure of an explicit configuration (a wrong client secret)
// ends it, as in the SDK, so that a broken service principal is never
// silently replaced by the developer's own az login.
//
// A profile (--profile NAME) is a service principal whose secret lives in
// the OS keyring (package profile). Naming one makes it the only source
// tried, like --identity.
//
// Proof and the persistent token cache: with Chain.Cache set, a service
// principal's credential is wrapped in a cache kept in the keyring before
// the proof request, so a token an earlier azexec process obtained for the
// same identity, tenant, scope, authority and credential (secret or
// certificate) proves the identity again until shortly before it expires,
// with no request. Changing the secret changes the binding, so a new
// secret is always proven by a real request. Sources whose identity is
// only known after a request (managed identity, workload identity, az,
// azd) are never cached persistently: see CacheID.
//
// Trust model: a source's configuration comes only from trusted inputs:
// flags, azexec's own process environment (Environ), the keyring, and az's
// and azd's own state. Env files, templates and files a repository names
// are not trusted: anyone who can open a pull request can edit them, so
// they may give the child values but never decide where a credential is
// sent or which file is read and sent. Config holds an Environ, a type that
// only the process environment builds, and env-file values cross into the
// chain through CheckEnvFiles alone, which lets an env file declare a whole
// service principal with its own secret (FileServicePrincipal) and refuses
// every other steering value with the file and line.
//
// Secrets held here are of type Secret, whose String, GoString and JSON forms
// are redacted: a value can only leave through Reveal, which makes every place
// that hands a secret on easy to find.
package resolve
