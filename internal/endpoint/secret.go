package endpoint

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/azexec/azexec/internal/fail"
)

// secretBytes is the size of a run's secret: 256 bits.
const secretBytes = 32

// NewSecret returns a fresh run secret, 256 random bits in hex: the value
// of IDENTITY_HEADER and MSI_SECRET.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fail.New(fail.Usage, "cannot generate the identity endpoint's secret").Wrap(err)
	}
	return hex.EncodeToString(b), nil
}

// msiPathFor is the secret path of MSI_ENDPOINT, derived from the run's
// secret. It is as powerful as the secret (it alone authenticates the
// Cloud Shell form), but a client that logs its URL does not reveal the
// header, and the two are told apart in logs by azexec's scrubber.
func msiPathFor(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("azexec MSI_ENDPOINT path"))
	return msiPrefix + hex.EncodeToString(m.Sum(nil))
}
