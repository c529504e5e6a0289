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

// processEnviron is the environment azexec was started with: os.Environ()
// less what a library added behind azexec's back. On Linux the kernel's
// copy of the initial environment (/proc/self/environ) tells which of
// librarySetVars were really inherited.
func processEnviron() []string {
	env := os.Environ()
	initial, err := os.ReadFile("/proc/self/environ")
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
