// Package atomicfile replaces files so that no reader, and no crash, ever
// sees anything but the old file or the whole new one. azexec rewrites
// files other programs read at any moment (its profile config, file
// keyring entries, a user's kubeconfig); writing in place would truncate
// the old file first, and a reader racing the write, or a crash in
// between, would find it empty or half written.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data: the data goes to a temporary file in the
// same directory, named by tmpPattern (os.CreateTemp; start it with a dot
// so that listings skip it), created 0600 and then given perm, so not even
// a moment exists when another user could open it with wider rights; it
// is synced and renamed over path, and the directory is synced too, so
// that the rename survives a crash. The temporary file never outlives a
// failure.
func Write(path, tmpPattern string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tmpPattern)
	if err != nil {
		return err
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if perm != 0o600 {
		if err := tmp.Chmod(perm); err != nil {
			return err
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		ok = true // closed and removed
		return err
	}
	ok = true
	SyncDir(dir)
	return nil
}

// SyncDir makes a rename or a removal in dir durable where the platform
// allows it. Failures are ignored: on Windows a directory cannot be opened
// for syncing, and the change itself has already happened.
func SyncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}
