package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/resolve"
)

// Exit statuses of azexec's own. Anything else is the child's status,
// passed through unchanged.
const (
	exitOK            = 0
	exitUsage         = 2   // bad flags, env files, reference syntax
	exitIdentity      = 3   // no identity, or authentication failed
	exitFetch         = 4   // a token or secret could not be fetched
	exitNotExecutable = 126 // COMMAND exists but cannot be run
	exitNotFound      = 127 // COMMAND not found
	exitSignalBase    = 128 // plus N: signal N ended azexec before COMMAND started
)

// exitCodes is the one table from error kinds to exit statuses.
var exitCodes = map[fail.Kind]int{
	fail.Usage:         exitUsage,
	fail.Identity:      exitIdentity,
	fail.Fetch:         exitFetch,
	fail.NotExecutable: exitNotExecutable,
	fail.NotFound:      exitNotFound,
	fail.Interrupted:   exitSignalBase, // + the signal's number (signalNumber)
}

// exitHelp is the exit-status table as --help prints it.
const exitHelp = `EXIT STATUS:
   0..255  COMMAND's own status, unchanged (128+N when signal N killed it)
   2       usage or bad input (flags, env files, Key Vault reference syntax)
   3       no identity could be resolved, or authentication failed (for a profile: the
           keyring is locked or unavailable, or no longer holds its secret)
   4       a token or secret could not be fetched
   126     COMMAND is not executable
   127     COMMAND not found
   128+N   signal N (HUP 129, INT 130, QUIT 131, TERM 143) stopped azexec before COMMAND started`

// report prints err as azexec's error (with the chain's attempts and a
// hint when known) and returns the exit status for it.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var child childStatus
	if errors.As(err, &child) {
		return int(child)
	}
	fmt.Fprintf(stderr, "azexec: error: %s\n", err)
	var ce *resolve.ChainError
	if errors.As(err, &ce) {
		printAttempts(stderr, "azexec: sources tried:", ce.Attempts)
	}
	if hint := fail.HintOf(err); hint != "" {
		fmt.Fprintf(stderr, "azexec: hint: %s\n", hint)
	}
	if code, ok := exitCodes[fail.KindOf(err)]; ok {
		return code + signalNumber(err)
	}
	return exitUsage
}

// printAttempts lists the chain's sources with their status and reason.
func printAttempts(w io.Writer, header string, attempts []resolve.Attempt) {
	if len(attempts) == 0 {
		return
	}
	fmt.Fprintln(w, header)
	for _, a := range attempts {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("  %-10s %-8s %s", a.Source, a.Status, a.Reason), " "))
	}
}
