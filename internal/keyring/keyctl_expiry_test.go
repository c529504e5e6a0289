//go:build linux

package keyring

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestKeyctlExpires: an entry given Expires leaves the kernel keyring by
// itself; one without stays. The keyring is this process's own, so the
// test touches nothing of the user's.
func TestKeyctlExpires(t *testing.T) {
	// A process keyring hangs off the credentials of the thread that made
	// it: stay on that thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	kr, err := Open(Config{AllowedBackends: []BackendType{KeyCtlBackend}, KeyCtlScope: "process", ServiceName: "azexec-test"})
	if err != nil {
		t.Skipf("no kernel keyring here: %v", err)
	}
	if err := kr.Set(Item{Key: "short", Data: []byte("v"), Expires: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := kr.Set(Item{Key: "kept", Data: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Get("short"); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	time.Sleep(2100 * time.Millisecond)
	if _, err := kr.Get("short"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("after expiry: %v, want ErrKeyNotFound", err)
	}
	if _, err := kr.Get("kept"); err != nil {
		t.Errorf("the entry without expiry: %v", err)
	}
}
