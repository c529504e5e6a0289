// Package fail holds the few kinds of error azexec reports on its own behalf.
//
// Every error that leaves azexec is one of these kinds, and the kind
// decides the exit status (the table lives in cmd/azexec; Interrupted adds
// the signal's number to its base, as a shell does), so that a script
// can tell "you called me wrong" from "Azure said no" without parsing text.
// A Hint is the one line of advice printed as `azexec: hint: ...` when the
// cause is known. Messages and hints name things (variables, files, sources)
// and never carry a secret or a token.
package fail

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the exit-code table.
type Kind int

const (
	// Usage is bad input: flags, env files, reference syntax. Exit 2.
	Usage Kind = iota + 1
	// Identity means no identity could be resolved or authentication
	// failed. Exit 3.
	Identity
	// Fetch means a token or secret could not be fetched with a resolved
	// identity. Exit 4.
	Fetch
	// NotExecutable means the command was found but could not be run (no
	// execute permission, a directory, a bad interpreter): the shell's
	// convention, exit 126, so scripts read azexec's failure like a shell's.
	NotExecutable
	// NotFound means the command was not found on the child's PATH: the
	// shell's convention, exit 127.
	NotFound
	// Interrupted means a signal (INT, TERM, HUP or QUIT) ended azexec
	// before COMMAND started. Exit 128+N for signal N, what a shell reports
	// for a process the signal killed, so a script or CI runner reads
	// "stopped by SIGTERM" the same way whether azexec or COMMAND got it.
	Interrupted
)

// Error is an error of a known Kind, with an optional hint.
type Error struct {
	Kind Kind
	Msg  string
	Hint string
	Err  error // the cause, when there is one worth unwrapping
}

func (e *Error) Error() string { return e.Msg }

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// WithHint sets the hint and returns e, for one-line construction.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// Wrap sets the cause and returns e.
func (e *Error) Wrap(err error) *Error {
	e.Err = err
	return e
}

// KindOf returns the kind of the first *Error in err's chain, or 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// HintOf returns the first non-empty hint in err's chain.
func HintOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Hint != "" {
			return e.Hint
		}
		err = e.Err
	}
	return ""
}
