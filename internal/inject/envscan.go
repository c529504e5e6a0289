package inject

import (
	"bytes"
	"unicode"
)

// This file finds where each statement of an env file starts and ends,
// following the control flow of godotenv v1.5.1's parser (parser.go)
// step for step. godotenv.Parse returns only a map, without order or line
// numbers; with the statement boundaries known, each statement is handed to
// godotenv itself for its key and value, so quoting, escapes and comments
// mean exactly what godotenv says they mean. FuzzReadEnvFile checks that the
// two agree.

// span is one statement, src[start:end]: optional "export ", the name, the
// separator and the value (up to the end of the line, or the closing quote).
type span struct{ start, end int }

// scanError says why splitting stopped, at the statement starting at offset.
type scanError struct {
	at     int
	reason string
}

// Reasons for a scanError. They describe the line, never quote it: the text
// may be a secret.
const (
	reasonName       = "malformed variable name"
	reasonUnquoted   = "unterminated quoted value"
	reasonZeroLength = "empty statement"
)

// splitStatements returns the statements of src (with "\r\n" already turned
// into "\n"), in file order.
func splitStatements(src []byte) ([]span, *scanError) {
	var spans []span
	pos := 0
	for {
		start, ok := statementStart(src, pos)
		if !ok {
			return spans, nil
		}
		end, err := statementEnd(src, start)
		if err != nil {
			return spans, err
		}
		spans = append(spans, span{start, end})
		pos = end
	}
}

// statementStart skips white space and comment lines from pos, like
// godotenv's getStatementStart.
func statementStart(src []byte, pos int) (int, bool) {
	for {
		i := bytes.IndexFunc(src[pos:], notUnicodeSpace)
		if i < 0 {
			return 0, false
		}
		pos += i
		if src[pos] != '#' {
			return pos, true
		}
		j := bytes.IndexByte(src[pos:], '\n')
		if j < 0 {
			return 0, false
		}
		pos += j
	}
}

// statementEnd returns the end of the statement starting at start.
func statementEnd(src []byte, start int) (int, *scanError) {
	at, reason := valueStart(src[start:])
	if reason != "" {
		return 0, &scanError{at: start, reason: reason}
	}
	end, ok := valueEnd(src[start+at:])
	if !ok {
		return 0, &scanError{at: start, reason: reasonUnquoted}
	}
	return start + at + end, nil
}

// valueStart returns the offset in s where the value begins, like
// godotenv's locateKeyName. When s holds no separator at all, godotenv takes
// an empty name and reads the value from the start; so does this.
func valueStart(s []byte) (int, string) {
	rest := bytes.TrimLeftFunc(s, isDotenvSpace)
	rest = trimExport(rest)
	for i, c := range rest {
		r := rune(c) // godotenv looks at bytes, not runes
		if isDotenvSpace(r) {
			continue
		}
		switch {
		case c == '=' || c == ':':
			return len(s) - len(bytes.TrimLeftFunc(rest[i+1:], isDotenvSpace)), ""
		case c == '_', unicode.IsLetter(r), unicode.IsNumber(r), c == '.':
			continue
		default:
			return 0, reasonName
		}
	}
	if len(rest) == 0 {
		return 0, reasonZeroLength
	}
	return len(s) - len(bytes.TrimLeftFunc(rest, isDotenvSpace)), ""
}

// trimExport drops a leading "export" followed by white space.
func trimExport(s []byte) []byte {
	t, ok := bytes.CutPrefix(s, []byte("export"))
	if ok && bytes.IndexFunc(t, isDotenvSpace) == 0 {
		return bytes.TrimLeftFunc(t, isDotenvSpace)
	}
	return s
}

// valueEnd returns the length of the value at the start of v, like
// godotenv's extractVarValue: to the end of the line, or through the
// closing quote (one not preceded by a backslash). ok is false for an
// unterminated quote.
func valueEnd(v []byte) (int, bool) {
	if len(v) == 0 || (v[0] != '"' && v[0] != '\'') {
		if i := bytes.IndexFunc(v, isLineEnd); i >= 0 {
			return i, true
		}
		return len(v), true
	}
	for i := 1; i < len(v); i++ {
		if v[i] == v[0] && v[i-1] != '\\' {
			return i + 1, true
		}
	}
	return 0, false
}

// isDotenvSpace is godotenv's isSpace: white space other than a line feed.
func isDotenvSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// isLineEnd is godotenv's end of an unquoted value.
func isLineEnd(r rune) bool { return r == '\n' || r == '\r' }

// notUnicodeSpace finds a statement's first character.
func notUnicodeSpace(r rune) bool { return !unicode.IsSpace(r) }
