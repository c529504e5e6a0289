//go:build !linux

package inject

// NewCredentialFile writes data to a private file that Close removes: only
// Linux has anonymous memory files to hand over as /dev/fd/N.
func NewCredentialFile(name string, data []byte) (*CredentialFile, error) {
	return privateFile(name, data)
}
