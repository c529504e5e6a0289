package inject

import (
	"os"
	"sync"

	"github.com/azexec/azexec/internal/atomicfile"
	"github.com/azexec/azexec/internal/fail"
)

// LiveFile is a rendered file handed to the child (--file VAR=TEMPLATE)
// that azexec, and only azexec, may rewrite while the child runs: for
// --watch-reload, which renders the file again after a secret rotated and
// then signals the child to read it again.
//
// On Linux it is an anonymous memfd. azexec keeps the read-write
// descriptor it was created with; the child inherits a second, read-only
// descriptor (ChildFile), opened anew through /proc/self/fd so that it
// is a separate open file with its own offset. The child reads
// /dev/fd/N, which on Linux opens the memfd's inode again: every open
// sees the current content, so a Replace is visible to the next open
// without anything in the child changing.
//
// Seals: a memfd sealed against writes, shrinking and growing could not
// be rewritten by azexec either, since seals bind every descriptor, the
// creator's included, and cannot be lifted. So a LiveFile starts
// unsealed, and Seal seals it for good (F_SEAL_WRITE, F_SEAL_SHRINK,
// F_SEAL_GROW, F_SEAL_SEAL) when nothing will rewrite it: --file without
// --watch-reload. An unsealed file is not writable through the child's
// read-only descriptor, but a child (or a process that may ptrace it)
// can open its /dev/fd/N read-write, since a memfd's inode mode is 0777:
// that changes only what that child itself reads, until the next Replace
// overwrites it, and gives it nothing it did not already hold.
//
// A reader that opens the file while Replace runs may see a mix of old
// and new content; callers signal the child only after Replace returns.
//
// Elsewhere (and on Linux when memfd_create is refused) it is a 0600 file
// in a private 0700 directory, replaced atomically by a rename; Close
// removes it, so azexec must stay the child's parent (NeedsSupervision).
type LiveFile struct {
	mu     sync.Mutex
	name   string
	mem    *os.File // azexec's read-write memfd descriptor, or nil
	child  *os.File // the child's read-only descriptor, or nil
	disk   *CredentialFile
	sealed bool
}

// NewLiveFile puts content in a new in-memory file called name (for
// /proc listings and messages; not a path).
func NewLiveFile(name string, content []byte) (*LiveFile, error) {
	lf := &LiveFile{name: name}
	mem, child, err := newMemLive(name, content)
	if err != nil {
		return nil, fail.New(fail.Usage, "cannot prepare the in-memory file %s", name).Wrap(err)
	}
	if mem != nil {
		lf.mem, lf.child = mem, child
		return lf, nil
	}
	if lf.disk, err = privateFile(name, content); err != nil {
		return nil, err
	}
	return lf, nil
}

// ChildFile is the descriptor to put in Command.ExtraFiles; the child
// reads it as /dev/fd/N (inject.ChildFD gives N). It is nil when the file
// is on disk: use Path instead.
func (f *LiveFile) ChildFile() *os.File { return f.child }

// Path is the file's path when it is on disk (no memfd), or "".
func (f *LiveFile) Path() string {
	if f.disk == nil {
		return ""
	}
	return f.disk.Path
}

// NeedsSupervision reports whether azexec must outlive the child to
// remove the file (it is on disk).
func (f *LiveFile) NeedsSupervision() bool { return f.disk != nil }

// Replace makes content the file's content. The memfd is rewritten in
// place (write from offset 0, then cut to length); the file on disk is
// replaced by a rename. It fails once the file is sealed.
func (f *LiveFile) Replace(content []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sealed {
		return fail.New(fail.Usage, "the in-memory file %s is sealed and cannot be rewritten", f.name)
	}
	if f.mem == nil {
		if err := atomicfile.Write(f.disk.Path, ".azexec-*", content, 0o600); err != nil {
			return fail.New(fail.Usage, "cannot rewrite %s", f.name).Wrap(err)
		}
		return nil
	}
	if _, err := f.mem.WriteAt(content, 0); err != nil {
		return fail.New(fail.Usage, "cannot rewrite the in-memory file %s", f.name).Wrap(err)
	}
	if err := f.mem.Truncate(int64(len(content))); err != nil {
		return fail.New(fail.Usage, "cannot rewrite the in-memory file %s", f.name).Wrap(err)
	}
	return nil
}

// Seal forbids any further change, by anyone, azexec included: for a
// file nothing will Replace. On disk, the file becomes read-only (0400).
func (f *LiveFile) Seal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sealed {
		return nil
	}
	var err error
	if f.mem != nil {
		err = sealMem(f.mem)
	} else {
		err = os.Chmod(f.disk.Path, 0o400)
	}
	if err != nil {
		return fail.New(fail.Usage, "cannot seal the in-memory file %s", f.name).Wrap(err)
	}
	f.sealed = true
	return nil
}

// Close releases azexec's descriptors (the memfd then lives as long as a
// child holds it) or removes the file on disk.
func (f *LiveFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disk != nil {
		return f.disk.Close()
	}
	if f.child != nil && f.child != f.mem {
		f.child.Close()
	}
	return f.mem.Close()
}
