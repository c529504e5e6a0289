package inject

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/azexec/azexec/internal/fail"
)

// NewCredentialFile puts data in an anonymous memory file, sealed so that
// neither the child nor anyone else can change it, and returns it for the
// child's ExtraFiles. The descriptor is close-on-exec until Run clears it
// for the child, so no other program azexec starts inherits it.
func NewCredentialFile(name string, data []byte) (*CredentialFile, error) {
	fd, err := unix.MemfdCreate("azexec-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		// Kernels before 3.17 or a seccomp filter: fall back to a private
		// file removed on exit.
		return privateFile(name, data)
	}
	f := os.NewFile(uintptr(fd), "memfd:azexec-"+name)
	if err := fillAndSeal(f, data); err != nil {
		f.Close()
		return nil, fail.New(fail.Usage, "cannot prepare the in-memory %s", name).Wrap(err)
	}
	return &CredentialFile{File: f}, nil
}

func fillAndSeal(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	seals := unix.F_SEAL_WRITE | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	_, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals)
	return err
}
