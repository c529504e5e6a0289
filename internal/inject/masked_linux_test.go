package inject

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/internal/mask"
	"github.com/azexec/azexec/tests/testenv"
)

// TestMaskedOutputOnlyTerminal: with stdout on a terminal and stdin not,
// the child's stdout is a pseudo-terminal (it sees a terminal, so it would
// print colours) whose output is masked, its stdin is left as it was, and
// its stderr, not a terminal, is a masked pipe.
func TestMaskedOutputOnlyTerminal(t *testing.T) {
	master, slave := openPTY(t)
	var errOut bytes.Buffer
	c := Command{
		Argv:   []string{"sh", "-c", `[ -t 1 ] && echo "tty out secret-value-1"; [ -t 0 ] || echo "stdin as it was"; echo "err secret-value-1" >&2`},
		Env:    []string{"PATH=" + testenv.Tools(t)},
		Stdin:  strings.NewReader(""),
		Stdout: slave,
		Stderr: &errOut,
	}
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, err := Run(ctx, c, RunOptions{Mask: mask.New("secret-value-1")})
	if err != nil || status != 0 {
		t.Fatalf("status %d, %v", status, err)
	}
	for _, want := range []string{"tty out " + mask.Marker, "stdin as it was"} {
		select {
		case got := <-lines:
			if got != want {
				t.Errorf("terminal: %q, want %q", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("terminal: nothing, want %q", want)
		}
	}
	if errOut.String() != "err "+mask.Marker+"\n" {
		t.Errorf("stderr %q", errOut.String())
	}
}
