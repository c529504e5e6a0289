package inject

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/joho/godotenv"

	"github.com/azexec/azexec/internal/fail"
)

// Var is one assignment read from an env file. File and Line say where it
// starts, so that reports can point at the line instead of showing a value.
type Var struct {
	Key   string
	Value string
	File  string // the path as given
	Line  int    // 1-based line of the statement's first character
}

// Reasons found by the strict checks, which go beyond godotenv: a name that
// is empty or holds white space, or a value with a NUL byte, cannot be
// passed to exec faithfully.
const (
	reasonNoName    = "expected NAME=VALUE"
	reasonSpaceName = "variable name contains white space"
	reasonNUL       = "value contains a NUL byte"
	reasonParse     = "cannot parse"
	reasonUTF8      = "unquoted value is not valid UTF-8"
	reasonUTF8Name  = "variable name is not valid UTF-8"
)

// nameHint explains what a statement looks like.
const nameHint = "each assignment reads NAME=VALUE; a name has letters, digits, '_' and '.'"

// hints gives the advice for each line error.
var hints = map[string]string{
	reasonName:       nameHint,
	reasonNoName:     nameHint,
	reasonSpaceName:  nameHint,
	reasonUnquoted:   "close the quote; a quoted value may span several lines",
	reasonZeroLength: "each assignment reads NAME=VALUE",
	reasonNUL:        "an environment variable cannot hold a NUL byte",
	reasonUTF8:       "save the file as UTF-8, or quote the value: quoted values are passed byte for byte",
	reasonUTF8Name:   nameHint,
}

// ReadEnvFile reads a dotenv file: godotenv's syntax (quotes, escapes,
// `export `, comments, multi-line double-quoted values, ${NAME} naming an
// earlier assignment in the same file), an optional UTF-8 byte order mark,
// and CRLF line ends. It returns every assignment in file order, repeats
// included; applied in order, the last one wins, as in godotenv. Quoted
// values are kept byte for byte, as godotenv keeps them; an unquoted value
// godotenv reads as UTF-8 text and would turn other bytes into U+FFFD, so
// such a byte in one is a usage error naming the file and line instead of
// a value that silently differs from the file.
func ReadEnvFile(path string) ([]Var, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	return parseEnvFile(path, data, true)
}

// Apply sets vars on env in order, each with its file and line as origin.
// Called once per --env-file in command-line order, it gives the documented
// precedence: the process environment, then each file, the later winning.
func Apply(env *Env, vars []Var) {
	for _, v := range vars {
		env.Set(v.Key, v.Value, Origin{Kind: OriginFile, File: v.File, Line: v.Line})
	}
}

// readError explains why an env file could not be read.
func readError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fail.New(fail.Usage, "env file %q: no such file", path).
			WithHint("check the path given to --env-file").Wrap(err)
	}
	reason := "cannot read"
	switch {
	case errors.Is(err, fs.ErrPermission):
		reason = "permission denied"
	case errors.Is(err, syscall.EISDIR):
		reason = "is a directory"
	}
	return fail.New(fail.Usage, "env file %q: %s", path, reason).Wrap(err)
}

// parseEnvFile parses data read from file. strict adds the checks godotenv
// does not make (see reasonNoName, reasonUTF8); without it the result is
// godotenv's. Each statement is parsed once, so the time is linear in the
// file's size.
func parseEnvFile(file string, data []byte, strict bool) ([]Var, error) {
	src := normalize(data)
	spans, serr := splitStatements(src)
	lines := lineCounter{src: src, line: 1}
	// values is godotenv's map at each statement: the last value of every
	// name assigned so far, which is all a ${NAME} can expand to.
	values := make(map[string]string)
	vars := make([]Var, 0, len(spans))
	for _, sp := range spans {
		line := lines.at(sp.start)
		v, reason := statementVar(src, sp, values)
		if reason == "" && strict {
			reason = checkVar(v)
		}
		if reason == "" && strict {
			if at := unquotedInvalidUTF8(src[sp.start:sp.end]); at >= 0 {
				return nil, lineError(file, lines.at(sp.start+at), reasonUTF8)
			}
		}
		if reason != "" {
			return nil, lineError(file, line, reason)
		}
		v.File, v.Line = file, line
		values[v.Key] = v.Value
		vars = append(vars, v)
	}
	if serr != nil {
		return nil, lineError(file, lines.at(serr.at), serr.reason)
	}
	return vars, nil
}

// unquotedInvalidUTF8 returns the offset in stmt of the first byte that is
// not UTF-8 in an unquoted value (the part godotenv keeps, before a " #"
// comment), or -1. godotenv reads an unquoted value as runes, so such a
// byte would become U+FFFD; quoted values it keeps byte for byte.
func unquotedInvalidUTF8(stmt []byte) int {
	at, reason := valueStart(stmt)
	if reason != "" {
		return -1
	}
	val := stmt[at:]
	if len(val) > 0 && (val[0] == '"' || val[0] == '\'') || utf8.Valid(val) {
		return -1
	}
	_, n := unquotedValue(val)
	for i := 0; i < n; {
		r, size := utf8.DecodeRune(val[i:])
		if r == utf8.RuneError && size == 1 {
			return at + i
		}
		i += size
	}
	return -1
}

// lineError reports a malformed statement by file and line; reason never
// holds any of the line's text.
func lineError(file string, line int, reason string) error {
	e := fail.New(fail.Usage, "env file %q, line %d: %s", file, line, reason)
	if h := hints[reason]; h != "" {
		e = e.WithHint("%s", h)
	}
	return e
}

// normalize drops a UTF-8 byte order mark and turns CRLF into LF, as
// godotenv does, so that offsets count lines the way godotenv sees them.
func normalize(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}

// statementVar parses one statement with godotenv, alone, for its name
// and value. A value that godotenv expands (unquoted or double-quoted, with
// a '$') may name earlier assignments, which a parse of the statement alone
// reads as empty: then the value is expanded again, with godotenv's own
// expansion rule (expandVariables), from the value before expansion
// (preExpansion) and the earlier values. Checking that the same expansion
// with no earlier values gives godotenv's result confirms that
// preExpansion read the value as godotenv did.
func statementVar(src []byte, sp span, values map[string]string) (Var, string) {
	stmt := src[sp.start:sp.end]
	m, err := unmarshalStatement(stmt)
	if err != nil || len(m) != 1 {
		return Var{}, reasonParse // splitStatements and godotenv disagree
	}
	v := onlyVar(m)
	if len(values) == 0 || bytes.IndexByte(stmt, '$') < 0 {
		return v, ""
	}
	raw, expands := preExpansion(stmt)
	if !expands {
		return v, ""
	}
	if expandVariables(raw, nil) != v.Value {
		return Var{}, reasonParse // preExpansion and godotenv disagree
	}
	v.Value = expandVariables(raw, values)
	return v, ""
}

// unmarshalStatement is godotenv's parser, a variable so that a test can
// count what it is handed: each statement once, never a file prefix.
var unmarshalStatement = godotenv.UnmarshalBytes

// onlyVar returns the one assignment of a one-statement parse.
func onlyVar(m map[string]string) Var {
	var v Var
	for k, val := range m {
		v.Key, v.Value = k, val
	}
	return v
}

// preExpansion returns the value of a statement as godotenv v1.5.1's
// extractVarValue has it just before it expands variables, and whether it
// expands them at all (not in single quotes). It follows that function
// step for step: an unquoted value is read as runes, cut at a " #"
// comment and trimmed; a double-quoted one loses its quotes and has its
// escapes replaced.
func preExpansion(stmt []byte) (string, bool) {
	at, reason := valueStart(stmt)
	if reason != "" {
		return "", false
	}
	val := stmt[at:]
	if len(val) > 0 && val[0] == '\'' {
		return "", false
	}
	if len(val) > 0 && val[0] == '"' {
		// The statement ends just after the closing quote.
		isQuote := func(r rune) bool { return r == '"' }
		inner := bytes.TrimLeftFunc(bytes.TrimRightFunc(val[:len(val)-1], isQuote), isQuote)
		return expandEscapes(string(inner)), true
	}
	v, _ := unquotedValue(val)
	return v, true
}

// unquotedValue is godotenv's reading of an unquoted value val (one line):
// as runes, so a byte that is not UTF-8 becomes U+FFFD; cut at the last
// '#' that follows a blank; trimmed of blanks. n is the length in bytes of
// the part before the cut.
func unquotedValue(val []byte) (v string, n int) {
	s := string(val)
	line := []rune(s)
	end := len(line)
	for i := end - 1; i >= 0; i-- {
		if line[i] == '#' && i > 0 && isDotenvSpace(line[i-1]) {
			end = i
			break
		}
	}
	n = len(val)
	if end < len(line) {
		// range decodes s as the conversion to []rune did: the end-th rune
		// starts at the cut.
		k := 0
		for i := range s {
			if k == end {
				n = i
				break
			}
			k++
		}
	}
	return strings.TrimFunc(string(line[:end]), isDotenvSpace), n
}

// godotenv v1.5.1's patterns for escapes and variable references.
var (
	escapeRegex        = regexp.MustCompile(`\\.`)
	expandVarRegex     = regexp.MustCompile(`(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?`)
	unescapeCharsRegex = regexp.MustCompile(`\\([^$])`)
)

// expandEscapes is godotenv's: \n and \r become line ends, and a
// backslash before anything but '$' goes.
func expandEscapes(str string) string {
	out := escapeRegex.ReplaceAllStringFunc(str, func(match string) string {
		switch strings.TrimPrefix(match, `\`) {
		case "n":
			return "\n"
		case "r":
			return "\r"
		default:
			return match
		}
	})
	return unescapeCharsRegex.ReplaceAllString(out, "$1")
}

// expandVariables is godotenv's: $NAME and ${NAME} become m[NAME] (empty
// for a name not assigned before), \$ and $( keep the text after their
// first character.
func expandVariables(v string, m map[string]string) string {
	return expandVarRegex.ReplaceAllStringFunc(v, func(s string) string {
		submatch := expandVarRegex.FindStringSubmatch(s)
		if submatch == nil {
			return s
		}
		if submatch[1] == "\\" || submatch[2] == "(" {
			return submatch[0][1:]
		} else if submatch[4] != "" {
			return m[submatch[4]]
		}
		return s
	})
}

// checkVar makes the checks exec needs and godotenv does not; it returns
// the reason for rejecting v, or "".
func checkVar(v Var) string {
	switch {
	case v.Key == "":
		return reasonNoName
	case hasSpaceByte(v.Key):
		return reasonSpaceName
	case !utf8.ValidString(v.Key):
		return reasonUTF8Name
	case strings.IndexByte(v.Value, 0) >= 0:
		return reasonNUL
	}
	return ""
}

// hasSpaceByte reports a byte godotenv counts as white space inside a name
// (it reads names byte by byte, so 0x85 and 0xA0 count alone).
func hasSpaceByte(k string) bool {
	for i := 0; i < len(k); i++ {
		if isDotenvSpace(rune(k[i])) {
			return true
		}
	}
	return false
}

// lineCounter turns increasing offsets into 1-based line numbers in one
// pass.
type lineCounter struct {
	src  []byte
	off  int
	line int
}

// at returns the line of offset off, which must not be before the last one.
func (c *lineCounter) at(off int) int {
	c.line += bytes.Count(c.src[c.off:off], []byte("\n"))
	c.off = off
	return c.line
}
