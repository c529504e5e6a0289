package main

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/joho/godotenv"

	"github.com/azexec/azexec/internal/fail"
)

// This file writes variables in the three formats of `azexec env`, each
// quoted so that its reader gets every value back byte for byte, or not
// at all: a value a format cannot hold is an error, never a silent change.

var (
	dotenvName = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	shellName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// formatEnv writes vars to w in format, and returns the names left out
// because the format cannot name them (a shell variable cannot hold a '.').
func formatEnv(w io.Writer, format string, vars []envVar) (skipped []string, err error) {
	switch format {
	case "shell":
		return formatShell(w, vars), nil
	case "json":
		return nil, formatEnvJSON(w, vars)
	}
	return formatDotenv(w, vars)
}

// formatShell writes `export NAME='value'` lines for eval: inside single
// quotes a POSIX shell takes every byte literally, and a single quote in
// the value is written as close quote, backslash, quote, open quote.
func formatShell(w io.Writer, vars []envVar) (skipped []string) {
	for _, v := range vars {
		if !shellName.MatchString(v.name) {
			skipped = append(skipped, v.name)
			continue
		}
		io.WriteString(w, "export "+v.name+"="+shellQuote(v.value)+"\n")
	}
	return skipped
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// formatEnvJSON writes one object of names to values, sorted by name. JSON
// holds only UTF-8, so other bytes are refused rather than replaced.
func formatEnvJSON(w io.Writer, vars []envVar) error {
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		if !utf8.ValidString(v.name) || !utf8.ValidString(v.value) {
			return fail.New(fail.Usage, "variable %q is not valid UTF-8, which JSON cannot hold", v.name).
				WithHint("use --format shell")
		}
		m[v.name] = v.value
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// formatDotenv writes NAME=value lines that godotenv (and so azexec
// --env-file and docker compose) reads back exactly. A plain value is
// written bare, which `docker run --env-file` reads the same way; other
// values are double-quoted with escapes (one line even for a multi-line
// value), or single-quoted when double quotes cannot hold them.
func formatDotenv(w io.Writer, vars []envVar) (skipped []string, err error) {
	var b bytes.Buffer
	for _, v := range vars {
		if !dotenvName.MatchString(v.name) {
			skipped = append(skipped, v.name)
			continue
		}
		line, ok := dotenvLine(v.name, v.value)
		if !ok {
			return nil, fail.New(fail.Usage, "the value of %q cannot be written in dotenv format", v.name).
				WithHint("use --format shell or --format json")
		}
		b.WriteString(line)
	}
	_, err = w.Write(b.Bytes())
	return skipped, err
}

// dotenvLine returns the first encoding of value that godotenv reads back
// as exactly value. azexec's reader refuses a NUL byte, as exec would.
func dotenvLine(name, value string) (string, bool) {
	if strings.IndexByte(value, 0) >= 0 {
		return "", false
	}
	for _, enc := range []func(string) (string, bool){dotenvBare, dotenvDouble, dotenvSingle} {
		q, ok := enc(value)
		if !ok {
			continue
		}
		line := name + "=" + q + "\n"
		m, err := godotenv.UnmarshalBytes([]byte(line))
		if got, found := m[name]; err == nil && len(m) == 1 && found && got == value {
			return line, true
		}
	}
	return "", false
}

// dotenvBare accepts printable ASCII without white space, quotes,
// backslashes, '$' or '#': what every dotenv reader takes literally.
func dotenvBare(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"'\\$#`", c) >= 0 {
			return "", false
		}
	}
	return s, true
}

// dotenvDouble escapes what godotenv interprets inside double quotes.
func dotenvDouble(s string) (string, bool) {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(s) + `"`, true
}

// dotenvSingle takes a value literally, but cannot hold a single quote.
func dotenvSingle(s string) (string, bool) {
	if strings.ContainsRune(s, '\'') {
		return "", false
	}
	return "'" + s + "'", true
}
