package inject

import (
	"os"
	"strconv"
	"testing"
)

// reopen reads the file the way a child does: it opens its path again.
func reopen(t *testing.T, lf *LiveFile) string {
	t.Helper()
	path := lf.Path()
	if f := lf.ChildFile(); f != nil {
		path = "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLiveFileReplaceIsSeenByTheNextOpen(t *testing.T) {
	lf, err := NewLiveFile("conf", []byte("first content"))
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if got := reopen(t, lf); got != "first content" {
		t.Fatalf("read %q", got)
	}
	for _, next := range []string{"short", "a much longer content than before", ""} {
		if err := lf.Replace([]byte(next)); err != nil {
			t.Fatal(err)
		}
		if got := reopen(t, lf); got != next {
			t.Fatalf("after Replace(%q) read %q", next, got)
		}
	}
}

func TestLiveFileSealForbidsEveryChange(t *testing.T) {
	lf, err := NewLiveFile("conf", []byte("sealed"))
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := lf.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := lf.Replace([]byte("changed")); err == nil {
		t.Fatal("Replace after Seal succeeded")
	}
	if lf.ChildFile() != nil {
		// The child opening its /dev/fd/N read-write cannot change it.
		path := "/proc/self/fd/" + strconv.Itoa(int(lf.ChildFile().Fd()))
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
			_, werr := f.WriteAt([]byte("X"), 0)
			terr := f.Truncate(1)
			f.Close()
			if werr == nil || terr == nil {
				t.Fatalf("a sealed memfd was changed: write %v, truncate %v", werr, terr)
			}
		}
	}
	if got := reopen(t, lf); got != "sealed" {
		t.Fatalf("read %q", got)
	}
}

func TestLiveFileChildDescriptorIsReadOnly(t *testing.T) {
	lf, err := NewLiveFile("conf", []byte("value"))
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	f := lf.ChildFile()
	if f == nil {
		t.Skip("no memfd here")
	}
	if _, err := f.Write([]byte("X")); err == nil {
		t.Fatal("the child's descriptor is writable")
	}
}
