package inject

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/joho/godotenv"

	"github.com/azexec/azexec/internal/fail"
)

// writeFile writes content to a fresh file and returns its path.
func writeFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.env")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadEnvFile(t *testing.T) {
	type kvl struct {
		k, v string
		line int
	}
	tests := []struct {
		name, content string
		want          []kvl
	}{
		{"plain", "A=1\nB=2\n", []kvl{{"A", "1", 1}, {"B", "2", 2}}},
		{"comments and blanks", "# c\n\nA=1 # note\n  # x\nB=b#c\n", []kvl{{"A", "1", 3}, {"B", "b#c", 5}}},
		{"export", "export A=1\nexport  B=two\n", []kvl{{"A", "1", 1}, {"B", "two", 2}}},
		{"yaml style", "A: b\n", []kvl{{"A", "b", 1}}},
		{"quotes", "A='x y'\nB=\"a\\nb\"\nC='a\\nb'\n", []kvl{{"A", "x y", 1}, {"B", "a\nb", 2}, {"C", `a\nb`, 3}}},
		{"multi-line", "A=\"one\ntwo\nthree\"\nB=2\n", []kvl{{"A", "one\ntwo\nthree", 1}, {"B", "2", 4}}},
		{"two on a line", "A=\"x\" B=1\nC=3", []kvl{{"A", "x", 1}, {"B", "1", 1}, {"C", "3", 2}}},
		{"repeat", "A=1\nA=2\n", []kvl{{"A", "1", 1}, {"A", "2", 2}}},
		{"expansion", "A=1\nB=${A}2\nA=3\nC=$A\nD=${HOME}x\n", []kvl{{"A", "1", 1}, {"B", "12", 2}, {"A", "3", 3}, {"C", "3", 4}, {"D", "x", 5}}},
		{"self reference", "P=a\nP=${P}:b\n", []kvl{{"P", "a", 1}, {"P", "a:b", 2}}},
		{"single quotes do not expand", "A=1\nB='$A'\n", []kvl{{"A", "1", 1}, {"B", "$A", 2}}},
		{"bom", "\xEF\xBB\xBFA=1\nB=2", []kvl{{"A", "1", 1}, {"B", "2", 2}}},
		{"crlf", "A=1\r\nB=\"x\r\ny\"\r\nC=3\r\n", []kvl{{"A", "1", 1}, {"B", "x\ny", 2}, {"C", "3", 4}}},
		{"empty value", "A=\nB=2\n", []kvl{{"A", "", 1}, {"B", "2", 2}}},
		{"empty file", "", nil},
		{"dots and digits", "a.b_1=x\n", []kvl{{"a.b_1", "x", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			vars, err := ReadEnvFile(path)
			if err != nil {
				t.Fatalf("ReadEnvFile: %v", err)
			}
			var got []kvl
			for _, v := range vars {
				if v.File != path {
					t.Errorf("File = %q, want %q", v.File, path)
				}
				got = append(got, kvl{v.Key, v.Value, v.Line})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReadEnvFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.env")
	_, err := ReadEnvFile(path)
	if fail.KindOf(err) != fail.Usage {
		t.Fatalf("kind = %v, want Usage (%v)", fail.KindOf(err), err)
	}
	want := `env file "` + path + `": no such file`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if fail.HintOf(err) == "" {
		t.Error("no hint")
	}
}

func TestReadEnvFileDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadEnvFile(dir)
	if fail.KindOf(err) != fail.Usage || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("error = %v", err)
	}
}

func TestReadEnvFileMalformed(t *testing.T) {
	const secret = "hunter2"
	tests := []struct {
		name, content string
		line          int
		reason        string
	}{
		{"bad name", "A=1\n\n" + secret + "!\n", 3, reasonName},
		{"no separator", "A=1\n" + secret, 2, reasonNoName},
		{"junk after quote", "A='x'" + secret, 1, reasonNoName},
		{"space in name", "MY " + secret + "=1\n", 1, reasonSpaceName},
		{"unterminated", "A=1\nB=\"" + secret + "\nC=2\n", 2, reasonUnquoted},
		{"unterminated single", "A='" + secret, 1, reasonUnquoted},
		{"NUL", "A=1\nB=" + secret + "\x00\n", 2, reasonNUL},
		{"after multi-line", "A=\"x\ny\nz\"\n" + secret + "\n", 4, reasonName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			_, err := ReadEnvFile(path)
			if fail.KindOf(err) != fail.Usage {
				t.Fatalf("kind = %v, want Usage (%v)", fail.KindOf(err), err)
			}
			want := `env file "` + path + `", line ` + strconv.Itoa(tt.line) + ": " + tt.reason
			if err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(fail.HintOf(err), secret) {
				t.Errorf("error shows the line's text: %q", err)
			}
			if fail.HintOf(err) == "" {
				t.Error("no hint")
			}
		})
	}
}

func TestApplyPrecedence(t *testing.T) {
	env := NewEnv([]string{"A=process", "B=process", "C=process"})
	f1 := writeFile(t, "A=one\nB=one\n")
	f2 := writeFile(t, "\nB=two\n")
	for _, f := range []string{f1, f2} {
		vars, err := ReadEnvFile(f)
		if err != nil {
			t.Fatal(err)
		}
		Apply(env, vars)
	}
	check := func(k, v string, o Origin) {
		t.Helper()
		if got, _ := env.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
		if got := env.Origin(k); got != o {
			t.Errorf("origin of %s = %+v, want %+v", k, got, o)
		}
	}
	check("A", "one", Origin{Kind: OriginFile, File: f1, Line: 1})
	check("B", "two", Origin{Kind: OriginFile, File: f2, Line: 2})
	check("C", "process", Origin{Kind: OriginProcess})
}

// lastWins folds vars into a map, as applying them does.
func lastWins(vars []Var) map[string]string {
	m := make(map[string]string)
	for _, v := range vars {
		m[v.Key] = v.Value
	}
	return m
}

func FuzzReadEnvFile(f *testing.F) {
	for _, s := range []string{
		"A=1\nB=2\n", "export A='x'\n", "A=\"multi\nline\"\nB=${A}\n", "# c\nA=b # c\n",
		"A=\"x\" B=1", "A='x'junk", "ABC", "A B=1", "A: b", "A=\"a\\\"\"", "\xEF\xBB\xBFA=1",
		"A=1\r\nB=2\r", "A=1\rB=2", "A=\"unterminated", "A=1\nA=${A}2", "é=1", "A=\x00",
		"A=1\n\xc2\x85B=2", "A\xa0B=1", "A=1\nB=\"$\\A\"", "A=1\nB=$A # $A\nC='$B'", "A=caf\xe9", "0=\"\xad\"", "A='\xe9'\nB=$A",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lenient, lerr := parseEnvFile("fuzz.env", data, false)
		want, gerr := godotenv.UnmarshalBytes(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))
		if (lerr == nil) != (gerr == nil) {
			t.Fatalf("parse error %v, godotenv error %v", lerr, gerr)
		}
		if gerr == nil && !reflect.DeepEqual(lastWins(lenient), want) {
			t.Fatalf("got %q, godotenv %q", lastWins(lenient), want)
		}
		strict, serr := ReadEnvFile(writeFile(t, string(data)))
		if serr == nil && !reflect.DeepEqual(lastWins(strict), lastWins(lenient)) {
			t.Fatalf("strict %q, lenient %q", lastWins(strict), lastWins(lenient))
		}
		for _, v := range strict {
			// U+FFFD only appears in a value by replacing a byte that is
			// not UTF-8, which the strict parse refuses.
			if !utf8.ValidString(v.Key) || strings.Contains(v.Value, "\uFFFD") && !bytes.Contains(data, []byte("\uFFFD")) {
				t.Fatalf("strict parse altered bytes: %q=%q", v.Key, v.Value)
			}
		}
		if serr != nil && fail.KindOf(serr) != fail.Usage {
			t.Fatalf("error kind %v: %v", fail.KindOf(serr), serr)
		}
		checkLines(t, data, strict)
	})
}

// checkLines checks that the lines are in order and within the file.
func checkLines(t *testing.T, data []byte, vars []Var) {
	last := 1 + bytes.Count(normalize(data), []byte("\n"))
	prev := 1
	for _, v := range vars {
		if v.Line < prev || v.Line > last {
			t.Fatalf("line %d after %d, file has %d", v.Line, prev, last)
		}
		prev = v.Line
	}
}
