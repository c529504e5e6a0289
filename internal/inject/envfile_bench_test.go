package inject

import (
	"fmt"
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

// envFileWithExpansions returns an env file of n lines in which most
// statements expand names assigned earlier, in the ways godotenv does:
// unquoted, double-quoted, braced and bare; with single-quoted values
// (which do not expand), comments and a multi-line value mixed in.
func envFileWithExpansions(n int) string {
	var b strings.Builder
	for i := 0; i < 10 && i < n; i++ {
		fmt.Fprintf(&b, "BASE%d=base-%d\n", i, i)
	}
	for i := 10; i < n; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "V%d=${BASE%d}/x/$BASE%d # note\n", i, i%10, (i+3)%10)
		case 1:
			fmt.Fprintf(&b, "export V%d=\"${BASE%d}:\\n$V%d\"\n", i, i%10, i-1)
		case 2:
			fmt.Fprintf(&b, "V%d='$BASE%d not expanded'\n", i, i%10)
		case 3:
			fmt.Fprintf(&b, "# comment %d with $BASE1\n", i)
		case 4:
			fmt.Fprintf(&b, "V%d=plain-%d-${UNDEFINED}\n", i, i)
		}
	}
	return b.String()
}

// BenchmarkReadEnvFile20000 reads a 20,000-line env file full of
// expansions of earlier names. Each statement is parsed once, so the time
// grows with the file's size, not its square (compare
// BenchmarkReadEnvFile2000). Besides ns/op, which a busy machine inflates,
// it reports the process's CPU time per read (cpu-ms/op).
func BenchmarkReadEnvFile20000(b *testing.B) { benchReadEnvFile(b, 20000) }

// BenchmarkReadEnvFile2000 is the same file at a tenth of the size.
func BenchmarkReadEnvFile2000(b *testing.B) { benchReadEnvFile(b, 2000) }

func benchReadEnvFile(b *testing.B, lines int) {
	path := writeFile(b, envFileWithExpansions(lines))
	before := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadEnvFile(path); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if used := cpuTime() - before; used > 0 {
		b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkGodotenv20000 is the peer: godotenv itself reading the same
// file in one pass (no line numbers, no order, no strict checks). azexec's
// reader should stay within a small factor of it.
func BenchmarkGodotenv20000(b *testing.B) {
	data := []byte(envFileWithExpansions(20000))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := godotenv.UnmarshalBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}
