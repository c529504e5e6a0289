package resolve

// Explain turns an error from an identity's credential into a one-line
// reason and, when the cause is known, a hint, exactly as the chain does for
// its proof token. Tokens fetched after resolution (for another scope or
// tenant) fail for the same reasons (an expired secret, a CLI logged out
// since), and the user deserves the same advice, not the SDK's many lines.
func Explain(source string, err error) (reason, hint string) {
	return explain(source, err)
}
