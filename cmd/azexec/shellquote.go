package main

import "strings"

// shellJoin writes args as a POSIX shell would need them typed, so that a
// hint that echoes a command can be pasted back: `sh -c 'touch x'` stays
// one argument instead of becoming `sh -c touch x`, which runs another
// command. Arguments made only of characters no shell treats specially are
// left bare; any other is put in single quotes, a quote inside it written
// as quote, backslash, quote, quote (the shell's only way).
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellWord(a)
	}
	return strings.Join(quoted, " ")
}

// shellWord quotes one argument for a POSIX shell.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !shellSafe(r) }) < 0 {
		return s
	}
	return shellQuote(s)
}

// shellSafe reports whether r needs no quoting in any position of a word.
func shellSafe(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("@%+=:,./_-", r)
}
