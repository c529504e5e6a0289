package profile

import (
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data so that no reader, and no crash,
// ever sees anything but the old file or the whole new one: the data goes
// to a temporary file in the same directory (created 0600, so not even a
// moment exists when another user could open it), is synced, and is then
// renamed over path; the directory is synced too, so that the rename
// survives a crash. Writing in place would truncate the old file first: a
// reader racing the write, or a crash in between, would find it empty or
// half written. tmpPattern names the temporary file (os.CreateTemp); it
// starts with a dot so that listings skip it.
func writeFileAtomic(path, tmpPattern string, data []byte) error {
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
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable where the platform allows it.
// Failures are ignored: on Windows a directory cannot be opened for
// syncing, and the rename itself has already happened.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}
