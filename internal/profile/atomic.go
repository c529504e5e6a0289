package profile

import "github.com/azexec/azexec/internal/atomicfile"

// writeFileAtomic replaces path with data, 0600, through a temporary file
// named by tmpPattern (atomicfile.Write): the config and keyring entries
// are never seen half written.
func writeFileAtomic(path, tmpPattern string, data []byte) error {
	return atomicfile.Write(path, tmpPattern, data, 0o600)
}

// syncDir makes a removal in dir durable (atomicfile.SyncDir).
func syncDir(dir string) { atomicfile.SyncDir(dir) }
