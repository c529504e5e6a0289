package main

import (
	"bytes"
	"os"
	"strings"
)

// librarySetVars are variables a dependency may set in azexec's own
// environment during package initialisation: the keyring library's D-Bus
// client (godbus) sets DBUS_SESSION_BUS_ADDRESS in the process environment when it
// discovers or launches a session bus. COMMAND must not inherit a value
// azexec's libraries invented.
var librarySetVars = []string{"DBUS_SESSION_BUS_ADDRESS"}

// initialEnviron is the kernel's copy of the environment azexec was
// started with, read by captureInitialEnviron.
var initialEnviron struct {
	data []byte
	err  error
	read bool
}

// captureInitialEnviron reads /proc/self/environ once. main calls it before
// harden.Process: a process that is not dumpable cannot open its own
// /proc/self/environ (the file becomes root's), and the bytes never change
// after exec anyway.
func captureInitialEnviron() {
	initialEnviron.data, initialEnviron.err = os.ReadFile("/proc/self/environ")
	initialEnviron.read = true
}

// readInitialEnviron returns what captureInitialEnviron read, or reads it
// now when main did not run (in-process tests).
func readInitialEnviron() ([]byte, error) {
	if initialEnviron.read {
		return initialEnviron.data, initialEnviron.err
	}
	return os.ReadFile("/proc/self/environ")
}

// processEnviron is the environment azexec was started with: os.Environ()
// less what a library added behind azexec's back. On Linux the kernel's
// copy of the initial environment (/proc/self/environ) tells which of
// librarySetVars were really inherited.
func processEnviron() []string {
	env := os.Environ()
	initial, err := readInitialEnviron()
	if err != nil {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if isLibrarySet(name) && !bytes.Contains(append([]byte{0}, initial...), []byte("\x00"+name+"=")) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func isLibrarySet(name string) bool {
	for _, v := range librarySetVars {
		if v == name {
			return true
		}
	}
	return false
}
