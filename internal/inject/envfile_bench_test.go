package inject

import (
	"fmt"
	"strings"
	"testing"
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
// grows with the file's size, not its square.
func BenchmarkReadEnvFile20000(b *testing.B) {
	path := writeFile(b, envFileWithExpansions(20000))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadEnvFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadEnvFile2000(b *testing.B) {
	path := writeFile(b, envFileWithExpansions(2000))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ReadEnvFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
