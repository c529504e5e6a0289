package inject

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/joho/godotenv"

	"github.com/azexec/azexec/internal/fail"
)

// TestReadEnvFileParsesEachStatementOnce: the quadratic parse handed
// godotenv the whole file up to each statement that expanded an earlier
// name, so 20,000 such lines took minutes. Counting the bytes godotenv is
// handed shows that every statement is parsed once, at most the file's
// size in all, however many expansions there are.
func TestReadEnvFileParsesEachStatementOnce(t *testing.T) {
	content := envFileWithExpansions(3000)
	var handed int
	saved := unmarshalStatement
	unmarshalStatement = func(b []byte) (map[string]string, error) {
		handed += len(b)
		return saved(b)
	}
	defer func() { unmarshalStatement = saved }()
	vars, err := ReadEnvFile(writeFile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	if handed > len(content) {
		t.Errorf("godotenv was handed %d bytes for a file of %d", handed, len(content))
	}
	// And the values are godotenv's.
	want, err := godotenv.Unmarshal(content)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastWins(vars); !reflect.DeepEqual(got, want) {
		t.Errorf("values differ from godotenv's")
	}
	if got := lastWins(vars)["V11"]; got != "base-1:\nbase-0/x/base-3" {
		t.Errorf("V11 = %q", got)
	}
}

// TestReadEnvFileExpansionLikeGodotenv: expansions whose meaning depends
// on godotenv's order of operations (escapes first, then references) give
// godotenv's values, and name earlier assignments only.
func TestReadEnvFileExpansionLikeGodotenv(t *testing.T) {
	for _, content := range []string{
		"A=1\nB=\"$\\A\"\n",         // the escape goes first, leaving $A
		"A=1\nB=\"\\$A\"\nC=\\$A\n", // an escaped $ stays
		"A=1\nB=$(A)\nC=${A}${A}x$A_\n",
		"A=1\nB='$A'\nC=\"$A\"\nD=$A # $A\nE=x#$A\n",
		"A=1\nA=${A}2\nA=${A}3\n",
		"B=$A\nA=1\n", // a later assignment does not count
		"A=1\nB=\"x\n$A\ny\"\nC=$B\n",
		"A=\u00a0x\u00a0\nB=$A\n",
		"A=1\nexport B=${A}\nC: $B\n",
		"A=1\nB=\"${A}\" C=$A\n",
		"A=1\nB=\"a\\\"$A\\\"\"\n",
		"A=1\nB=$Ä$A\n",
		"HOME=/h\nX=$HOME\nY=$PATH\n",
	} {
		got, err := ReadEnvFile(writeFile(t, content))
		if err != nil {
			t.Errorf("%q: %v", content, err)
			continue
		}
		want, err := godotenv.Unmarshal(content)
		if err != nil {
			t.Fatalf("%q: godotenv: %v", content, err)
		}
		if !reflect.DeepEqual(lastWins(got), want) {
			t.Errorf("%q: got %q, godotenv %q", content, lastWins(got), want)
		}
	}
}

// TestReadEnvFileRefusesNonUTF8: an unquoted value that godotenv would
// silently turn into U+FFFD is an error naming the file and the line,
// never showing the value; so is a name that is not UTF-8.
func TestReadEnvFileRefusesNonUTF8(t *testing.T) {
	const secret = "s3cr3t"
	cases := []struct {
		name, content string
		line          int
		reason        string
	}{
		{"latin-1", "A=1\n\nB=caf\xe9" + secret + "\n", 3, reasonUTF8},
		{"lone continuation byte", "B=" + secret + "\x80\n", 1, reasonUTF8},
		{"first byte", "B=\xff" + secret + "\n", 1, reasonUTF8},
		{"truncated sequence", "A=" + secret + "\xe2\x9c\n", 1, reasonUTF8},
		{"overlong encoding", "A=" + secret + "\xc0\xaf\n", 1, reasonUTF8},
		{"encoded surrogate", "A=" + secret + "\xed\xa0\x80\n", 1, reasonUTF8},
		{"before a comment", "A=" + secret + "\xe9 # note\n", 1, reasonUTF8},
		{"export, yaml style", "export A: " + secret + "\xe9\n", 1, reasonUTF8},
		{"after a multi-line value", "A=\"x\ny\"\nB=" + secret + "\xe9\n", 3, reasonUTF8},
		{"crlf lines", "A=1\r\nB=2\r\nC=" + secret + "\xa0\r\n", 3, reasonUTF8},
		{"after a bom", "\xEF\xBB\xBFA=1\nB=\xff\n", 2, reasonUTF8},
		{"no separator", "\n" + secret + "\xaa", 2, reasonNoName},
		{"latin-1 name", "A=1\ncaf\xe9=" + secret + "\n", 2, reasonUTF8Name},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.content)
			vars, err := ReadEnvFile(path)
			if err == nil {
				t.Fatalf("accepted, values %q", lastWins(vars))
			}
			if fail.KindOf(err) != fail.Usage {
				t.Fatalf("kind %v, want Usage (exit 2): %v", fail.KindOf(err), err)
			}
			want := `env file "` + path + `", line ` + strconv.Itoa(tc.line) + ": " + tc.reason
			if err.Error() != want {
				t.Errorf("error %q\nwant  %q", err, want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(fail.HintOf(err), secret) || fail.HintOf(err) == "" {
				t.Errorf("error %q, hint %q: want a hint and no value", err, fail.HintOf(err))
			}
		})
	}
}

// TestReadEnvFileKeepsQuotedBytes: quoted values, which godotenv keeps
// byte for byte, reach the child byte for byte, UTF-8 or not, also
// through an expansion; bytes in comments do not matter.
func TestReadEnvFileKeepsQuotedBytes(t *testing.T) {
	content := "A='caf\xe9'\nB=\"\xff\\n\xfe\"\nC=\"x\n\xe9\ny\"\nD=$A\nE=\"${B}!\"\n# caf\xe9\nF=1 # caf\xe9\n"
	vars, err := ReadEnvFile(writeFile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "caf\xe9", "B": "\xff\n\xfe", "C": "x\n\xe9\ny", "D": "caf\xe9", "E": "\xff\n\xfe!", "F": "1"}
	if got := lastWins(vars); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if gd, _ := godotenv.Unmarshal(content); !reflect.DeepEqual(gd, want) {
		t.Errorf("godotenv reads %q", gd)
	}
}

// TestReadEnvFileKeepsUTF8: valid multi-byte UTF-8 comes through byte for
// byte, in every kind of value.
func TestReadEnvFileKeepsUTF8(t *testing.T) {
	content := "A=café ✓ 𝄞 日本語\nB=\"ü\\nß\"\nC='€'\nD=${A}·\nE=\uFFFD\nF=\"x\u00a0y\"\n"
	vars, err := ReadEnvFile(writeFile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "café ✓ 𝄞 日本語", "B": "ü\nß", "C": "€", "D": "café ✓ 𝄞 日本語·", "E": "\uFFFD", "F": "x\u00a0y"}
	if got := lastWins(vars); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// FuzzReadEnvFileExpansion checks the one-pass expansion against godotenv
// parsing the whole file, with names already assigned so that references
// in the fuzzed text find values (quotes, backslashes, '$' and '#' in
// them, to tempt a mis-split).
func FuzzReadEnvFileExpansion(f *testing.F) {
	for _, s := range []string{"B=$A", "B=\"$\\A\"", "B=${AB}x$A_", "B='$A'", "B=$A # $Q", "B=\"x\n$Q\"\nC=$B",
		"export B=${A}${A}", "B=\\$A", "B=$(A)", "B: \"$A\" C=$Q", "A=${A}${A}\nA=${A}${A}"} {
		f.Add(s)
	}
	const prefix = "A=1\nAB=ab\nQ=\"q'\\\"$ #\"\nA_='a\\b'\n"
	f.Fuzz(func(t *testing.T, text string) {
		data := []byte(prefix + text)
		got, err := parseEnvFile("fuzz.env", data, false)
		want, gerr := godotenv.UnmarshalBytes(data)
		if (err == nil) != (gerr == nil) {
			t.Fatalf("parse error %v, godotenv error %v", err, gerr)
		}
		if err == nil && !reflect.DeepEqual(lastWins(got), want) {
			t.Fatalf("got %q, godotenv %q", lastWins(got), want)
		}
	})
}
