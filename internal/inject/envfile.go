package inject

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"syscall"

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
}

// ReadEnvFile reads a dotenv file: godotenv's syntax (quotes, escapes,
// `export `, comments, multi-line double-quoted values, ${NAME} naming an
// earlier assignment in the same file), an optional UTF-8 byte order mark,
// and CRLF line ends. It returns every assignment in file order, repeats
// included; applied in order, the last one wins, as in godotenv.
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
// does not make (see reasonNoName); without it the result is godotenv's.
func parseEnvFile(file string, data []byte, strict bool) ([]Var, error) {
	src := normalize(data)
	spans, serr := splitStatements(src)
	lines := lineCounter{src: src, line: 1}
	defined := make(map[string]bool)
	vars := make([]Var, 0, len(spans))
	for _, sp := range spans {
		line := lines.at(sp.start)
		v, reason := statementVar(src, sp, defined)
		if reason == "" && strict {
			reason = checkVar(v)
		}
		if reason != "" {
			return nil, lineError(file, line, reason)
		}
		v.File, v.Line = file, line
		defined[v.Key] = true
		vars = append(vars, v)
	}
	if serr != nil {
		return nil, lineError(file, lines.at(serr.at), serr.reason)
	}
	return vars, nil
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

// statementVar parses one statement with godotenv. A value that expands a
// name assigned earlier in the file needs that context: then the file up to
// the end of this statement is parsed again, and godotenv's value for this
// name at that point is the statement's value.
func statementVar(src []byte, sp span, defined map[string]bool) (Var, string) {
	stmt := src[sp.start:sp.end]
	m, err := godotenv.UnmarshalBytes(stmt)
	if err != nil || len(m) != 1 {
		return Var{}, reasonParse // splitStatements and godotenv disagree
	}
	v := onlyVar(m)
	if !expandsDefined(stmt, defined) {
		return v, ""
	}
	full, err := godotenv.UnmarshalBytes(src[:sp.end])
	if err != nil {
		return Var{}, reasonParse
	}
	v.Value = full[v.Key]
	return v, ""
}

// onlyVar returns the one assignment of a one-statement parse.
func onlyVar(m map[string]string) Var {
	var v Var
	for k, val := range m {
		v.Key, v.Value = k, val
	}
	return v
}

// expandVar is godotenv's pattern for a variable reference.
var expandVar = regexp.MustCompile(`(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?`)

// expandsDefined reports whether stmt may expand a name already assigned,
// the only case where its value depends on the statements before it.
func expandsDefined(stmt []byte, defined map[string]bool) bool {
	if bytes.IndexByte(stmt, '$') < 0 {
		return false
	}
	for _, m := range expandVar.FindAllSubmatch(stmt, -1) {
		if len(m[4]) > 0 && defined[string(m[4])] {
			return true
		}
	}
	return false
}

// checkVar makes the checks exec needs and godotenv does not; it returns
// the reason for rejecting v, or "".
func checkVar(v Var) string {
	switch {
	case v.Key == "":
		return reasonNoName
	case hasSpaceByte(v.Key):
		return reasonSpaceName
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
