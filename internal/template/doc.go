// Package template renders the files `azexec inject` and `--file
// VAR=TEMPLATE` give a program: text in which every {{ REFERENCE }} is
// replaced by a Key Vault secret and every {{ env:NAME }} by a variable of
// the child's built environment.
//
// # Syntax
//
//	{{ keyvault://VAULT/NAME[/VERSION] }}
//	{{ @Microsoft.KeyVault(SecretUri=https://VAULT.vault.azure.net/secrets/NAME[/VERSION]) }}
//	{{ @Microsoft.KeyVault(VaultName=VAULT;SecretName=NAME[;SecretVersion=VERSION]) }}
//	{{ env:NAME }}
//	{{ keyvault://VAULT/NAME | json }}    filters: json, yaml, base64, applied left to right
//	{{{{                                  a literal {{
//
// A placeholder ends at the first }}. White space around the reference
// and the filters is ignored. Anything else between {{ and }} is an
// error, never text passed on: a typo must not reach the program as its
// configuration.
//
// # Why a small language of its own
//
// A template is untrusted input (docs/security.md): it may come from the
// repository, and it may give the program values but never decide where
// a credential is sent or which file is read and sent. So the language
// holds nothing but references and names: no file inclusion, no function
// calls, no loops, no access to azexec's own environment. text/template
// would give a repository's file every function azexec registered and
// Go's reflection over whatever value it is handed. A secret is inserted
// once, as it is: text that a value holds ({{ env:X }} inside a secret) is
// never read again as a placeholder.
//
// # Parse once, render many times
//
// Parse checks every placeholder before anything is fetched and reports
// every problem with its FILE:LINE:COLUMN (lines and columns from 1,
// columns in characters). Render then fills the parsed template from
// values fetched elsewhere, as often as needed: --watch renders again
// after a secret rotated, without reading or parsing the file again.
//
// Neither Parse's nor Render's errors hold the template's text or a
// value: they name positions, references and variable names.
package template
