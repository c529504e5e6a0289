package harden

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestProcess hardens the test process itself: afterwards it is not
// dumpable, its soft core limit is 0 and its hard limit unchanged;
// RestoreForExec brings the old soft limit back and undo lowers it again.
func TestProcess(t *testing.T) {
	var before unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &before); err != nil {
		t.Fatal(err)
	}
	if before.Cur == 0 && before.Max > 0 {
		// Start from a non-zero soft limit, so that 0 is Process's doing.
		before.Cur = min(before.Max, 1<<20)
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &before); err != nil {
			t.Fatal(err)
		}
	}
	if err := Process(); err != nil {
		t.Fatal(err)
	}
	if Dumpable() {
		t.Error("still dumpable")
	}
	var now unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &now); err != nil {
		t.Fatal(err)
	}
	if now.Cur != 0 || now.Max != before.Max {
		t.Errorf("core limit %+v, want soft 0 and hard %d", now, before.Max)
	}
	undo := RestoreForExec()
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &now); err != nil {
		t.Fatal(err)
	}
	if now != before {
		t.Errorf("restored core limit %+v, want %+v", now, before)
	}
	undo()
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &now); err != nil {
		t.Fatal(err)
	}
	if now.Cur != 0 {
		t.Errorf("after undo the soft core limit is %d, want 0", now.Cur)
	}
}
