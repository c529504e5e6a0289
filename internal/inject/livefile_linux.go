package inject

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// newMemLive creates an unsealed memfd holding content and a read-only
// descriptor of it for the child. It returns nil files, and no error,
// when the kernel refuses memfds (before 3.17, or a seccomp filter): the
// caller then falls back to a private file.
func newMemLive(name string, content []byte) (mem, child *os.File, err error) {
	fd, err := unix.MemfdCreate("azexec-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, nil, nil
	}
	mem = os.NewFile(uintptr(fd), "memfd:azexec-"+name)
	if _, err := mem.Write(content); err != nil {
		mem.Close()
		return nil, nil, err
	}
	// A second open file description, read-only, with its own offset.
	// Without /proc, the child shares azexec's read-write one: Replace
	// writes at explicit offsets, so the shared offset does not matter.
	rfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return mem, mem, nil
	}
	return mem, os.NewFile(uintptr(rfd), "memfd:azexec-"+name), nil
}

// sealMem seals the memfd for good.
func sealMem(f *os.File) error {
	seals := unix.F_SEAL_WRITE | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL
	_, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals)
	return err
}
