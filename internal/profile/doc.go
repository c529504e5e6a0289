// Package profile keeps per-developer service principals: the non-secret
// half of each in a config file, the secret half in the OS keyring, and
// access tokens in that same keyring so that short-lived azexec processes
// (kubectl, git and docker start one per command) need not each ask Entra ID
// for a token.
//
// The rule it exists for: a secret never reaches a file in the clear. The
// config file (config.json under the user's config directory) holds tenant,
// client id, subscription, cloud, certificate path, the keyring backend and
// per-profile defaults, and is safe to show and to back up. The client secret
// or certificate password goes to the keyring through
// github.com/99designs/keyring: macOS Keychain, Windows Credential Manager,
// Secret Service, KWallet, pass, the Linux kernel keyring, or a file
// encrypted with a passphrase for headless machines.
//
// Adding, rotating and removing hold an exclusive lock on config.json.lock
// (flock, LockFileEx on Windows) across the whole read-modify-write of the
// config and the keyring, so concurrent azexec processes never lose or mix
// profiles, and every file is replaced atomically (a synced temporary file
// renamed over it), never truncated in place. Adding writes the keyring
// entry first and the config entry second, and removes the keyring entry
// again when the config cannot be written: a profile is either whole or
// absent. Removing writes the config first and puts the entry back when the
// secret cannot be deleted. The encrypted file backend is azexec's own, in
// the library's format, so that it writes atomically and can tell a
// damaged entry from a wrong passphrase.
//
// Keyring entries are named so that they can be listed without decrypting
// them: "profile:NAME" for a secret, "token:IDENTITY-HASH:TENANT:SCOPE" for a
// cached access token. A cached token is bound, inside the encrypted entry,
// to the identity, authority and credential that obtained it, and is served
// only while all three match and it is not about to expire.
//
// Errors are *fail.Error values whose messages name profiles, backends and
// entries, never a secret.
package profile
