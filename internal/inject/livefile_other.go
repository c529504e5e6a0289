//go:build !linux

package inject

import (
	"errors"
	"os"
)

// newMemLive has no memfd outside Linux: the caller uses a private file.
func newMemLive(string, []byte) (mem, child *os.File, err error) { return nil, nil, nil }

func sealMem(*os.File) error { return errors.New("no memfd on this platform") }
