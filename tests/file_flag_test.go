package tests

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --file VAR=TEMPLATE, end to end: COMMAND reads the rendered template at
// $VAR, a memfd it holds as /dev/fd/N, in both process models; nothing
// rendered is ever on disk, and nothing of it in azexec's trace log.

func TestFileFlagGivesCommandAnInMemoryFile(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			fds := filepath.Join(t.TempDir(), "fds")
			script := `cat "$CONF"; printf '%s\n' "$CONF" > "$FDS"; ls -l /proc/$$/fd >> "$FDS"`
			env := setEnv(sc.env, "FDS="+fds)
			args := append([]string{"--file", "CONF=" + sc.tmpl, "--log-level", "trace"}, wrap(mode.flags, "sh", "-c", script)...)
			stdout, stderr, code := runAzexec(t, env, "", args...)
			if code != 0 {
				t.Fatalf("status %d\n%s", code, stderr)
			}
			for key, want := range sc.values {
				if got := jqRaw(t, stdout, "."+key); got != want {
					t.Errorf("%s read back as %q, want %q", key, got, want)
				}
			}
			listing, err := os.ReadFile(fds)
			if err != nil {
				t.Fatal(err)
			}
			path, rest, _ := strings.Cut(string(listing), "\n")
			n, ok := strings.CutPrefix(path, "/dev/fd/")
			if !ok {
				t.Fatalf("CONF = %q, want /dev/fd/N", path)
			}
			if !strings.Contains(rest, " "+n+" -> /memfd:azexec-conf (deleted)") {
				t.Errorf("descriptor %s of the child is not a memfd:\n%s", n, rest)
			}
			checkNoTemplateValues(t, sc, stderr)
			checkDiskHolds(t, nil, sc.values["uri"], sc.values["name"], sc.values["short"])
		})
	}
}

// checkDiskHolds scans the places a file could be left (the temporary
// directory, every test's scratch directory and HOME included, /dev/shm
// and XDG_RUNTIME_DIR) and fails when a file holds one of values, unless
// it is one of allowed.
func checkDiskHolds(t *testing.T, allowed []string, values ...string) {
	t.Helper()
	roots := []string{os.TempDir(), "/dev/shm"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		roots = append(roots, d)
	}
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > 1<<20 {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for i, v := range values {
				if bytes.Contains(data, []byte(v)) && !contains(allowed, path) {
					t.Errorf("rendered value %d is on disk, in %s", i, path)
				}
			}
			return nil
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
