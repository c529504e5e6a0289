package profile

import "github.com/azexec/azexec/internal/keyring"

// keyctlPerm lets every process of the user read and write azexec's kernel
// keyring entries, not only processes that possess them through their
// session keyring: each azexec run is a new process, often in a new
// session (a terminal, a kubectl plugin call, a cron job).
var keyctlPerm = keyring.GetPermissions(keyring.KEYCTL_PERM_ALL, keyring.KEYCTL_PERM_ALL, 0, 0)
