package profile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/azexec/azexec/internal/keyring"
	jose "github.com/dvsekhvalnov/jose2go"
	joseaes "github.com/dvsekhvalnov/jose2go/aes"
	"github.com/dvsekhvalnov/jose2go/base64url"
	"github.com/dvsekhvalnov/jose2go/kdf"
	"github.com/mtibben/percent"
)

// fileKeyring is azexec's encrypted file backend. It keeps the format of
// github.com/99designs/keyring's file backend, so keyrings written by
// earlier versions open unchanged: one file per entry in the keyring
// directory, named by the percent-encoded key, holding a JWE compact token
// (PBES2-HS256+A128KW wrapping an A256GCM key) of the JSON of a
// keyring.Item. It replaces the library's for two things the library does
// not do:
//
//   - It writes an entry atomically (writeFileAtomic). The library's
//     os.WriteFile truncates the entry first: a reader in between, or a
//     crash, found an empty or half entry, later reported as a wrong
//     passphrase.
//   - It tells a damaged entry from a wrong passphrase. The token's form,
//     header and part lengths are checked first; then the key wrap, which
//     has an integrity check of its own, is undone with the passphrase:
//     when that fails the passphrase is wrong or the wrapped key damaged
//     (errKeyUnwrap; Keyring.translate decides which by trying another
//     entry); when it succeeds and the content still fails its
//     authentication tag, the entry is damaged (*entryDamagedError).
//
// It is not safe for concurrent use; Keyring serializes it.
type fileKeyring struct {
	dir          string
	passwordFunc keyring.PromptFunc
	password     string
}

// The file format's algorithms, and a bound on the PBKDF2 iteration count
// a header may ask for, so that a damaged header cannot stall azexec. The
// library writes 8192.
const (
	fileKeyAlg      = jose.PBES2_HS256_A128KW
	fileContentEnc  = jose.A256GCM
	maxFileKeyCount = 1 << 22
)

// fileTmpPattern names an entry's temporary file while it is written. The
// leading dot keeps it out of Keys.
const fileTmpPattern = ".tmp-*"

// errKeyUnwrap says the passphrase does not unwrap an entry's key: the
// passphrase is wrong, or the wrapped key is damaged.
var errKeyUnwrap = errors.New("the passphrase does not unwrap the entry's key")

// entryDamagedError says an entry is damaged (truncated, overwritten,
// edited): no passphrase can decrypt it.
type entryDamagedError struct{ reason string }

func (e *entryDamagedError) Error() string { return "damaged entry: " + e.reason }

func damaged(format string, args ...any) error {
	return &entryDamagedError{reason: fmt.Sprintf(format, args...)}
}

func newFileKeyring(dir string, password keyring.PromptFunc) *fileKeyring {
	return &fileKeyring{dir: dir, passwordFunc: password}
}

// filename is the entry's file, named as the library names it.
func (k *fileKeyring) filename(key string) string {
	return filepath.Join(k.dir, percent.Encode(key, "/"))
}

// unlock asks for the passphrase once.
func (k *fileKeyring) unlock() error {
	if k.password != "" {
		return nil
	}
	p, err := k.passwordFunc(fmt.Sprintf("Enter passphrase to unlock %q", k.dir))
	if err != nil {
		return err
	}
	k.password = p
	return nil
}

// Get implements keyring.Keyring.
func (k *fileKeyring) Get(key string) (keyring.Item, error) {
	data, err := os.ReadFile(k.filename(key))
	if errors.Is(err, fs.ErrNotExist) {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	if err != nil {
		return keyring.Item{}, err
	}
	if err := k.unlock(); err != nil {
		return keyring.Item{}, err
	}
	return decodeFileEntry(data, k.password)
}

// decodeFileEntry decrypts one entry file; see fileKeyring for how it
// tells damage from a wrong passphrase.
func decodeFileEntry(data []byte, password string) (item keyring.Item, err error) {
	defer func() {
		if recover() != nil { // the decoder's own checks are not to be relied on for damaged input
			item, err = keyring.Item{}, damaged("the decoder cannot read it")
		}
	}()
	if len(data) == 0 {
		return item, damaged("the file is empty")
	}
	parts := strings.Split(string(data), ".")
	if len(parts) != 5 {
		return item, damaged("it has %d of the 5 parts of an encrypted token, as if cut short", len(parts))
	}
	raw := make([][]byte, len(parts))
	for i, p := range parts {
		if raw[i], err = base64url.Decode(p); err != nil {
			return item, damaged("part %d is not base64url", i+1)
		}
	}
	var h struct {
		Alg string  `json:"alg"`
		Enc string  `json:"enc"`
		P2c float64 `json:"p2c"`
		P2s string  `json:"p2s"`
		Zip string  `json:"zip"`
	}
	if err := json.Unmarshal(raw[0], &h); err != nil {
		return item, damaged("its header is not JSON")
	}
	if h.Alg != fileKeyAlg || h.Enc != fileContentEnc {
		return item, damaged("its header names %q and %q, not %s and %s", h.Alg, h.Enc, fileKeyAlg, fileContentEnc)
	}
	if h.P2c < 1 || h.P2c > maxFileKeyCount || h.P2c != float64(int(h.P2c)) {
		return item, damaged("its header's iteration count is out of range")
	}
	salt, err := base64url.Decode(h.P2s)
	if err != nil || len(salt) == 0 {
		return item, damaged("its header's salt is not base64url")
	}
	// A 256-bit content key wrapped (RFC 3394) is 40 bytes; GCM's nonce is
	// 12 bytes and its tag 16.
	if len(raw[1]) != 40 || len(raw[2]) != 12 || len(raw[4]) != 16 {
		return item, damaged("its parts have the wrong lengths, as if cut short or overwritten")
	}
	if h.Zip != "" {
		return item, damaged("its header asks for compression, which the format does not use")
	}
	kek := kdf.DerivePBKDF2([]byte(password), append(append([]byte(fileKeyAlg), 0), salt...), int(h.P2c), 128, sha256.New)
	cek, err := joseaes.KeyUnwrap(raw[1], kek)
	if err != nil || len(cek) != 32 {
		return item, errKeyUnwrap
	}
	// A256GCM as JWE uses it (RFC 7516 5.2): the protected header as
	// written is the additional data, the tag follows the ciphertext.
	block, err := aes.NewCipher(cek)
	if err != nil {
		return item, errKeyUnwrap
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return item, errKeyUnwrap
	}
	payload, err := gcm.Open(nil, raw[2], slices.Concat(raw[3], raw[4]), []byte(parts[0]))
	if err != nil {
		return item, damaged("its content fails authentication")
	}
	if err := json.Unmarshal(payload, &item); err != nil {
		return keyring.Item{}, damaged("its content is not a keyring item")
	}
	return item, nil
}

// GetMetadata implements keyring.Keyring: the entry's existence and time,
// without decrypting it.
func (k *fileKeyring) GetMetadata(key string) (keyring.Metadata, error) {
	st, err := os.Stat(k.filename(key))
	if errors.Is(err, fs.ErrNotExist) {
		return keyring.Metadata{}, keyring.ErrKeyNotFound
	}
	if err != nil {
		return keyring.Metadata{}, err
	}
	return keyring.Metadata{ModificationTime: st.ModTime()}, nil
}

// Set implements keyring.Keyring, replacing the entry atomically.
func (k *fileKeyring) Set(i keyring.Item) error {
	data, err := json.Marshal(i)
	if err != nil {
		return err
	}
	if err := k.unlock(); err != nil {
		return err
	}
	token, err := jose.Encrypt(string(data), fileKeyAlg, fileContentEnc, k.password,
		jose.Headers(map[string]any{"created": time.Now().UTC().Format(time.RFC3339)}))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(k.filename(i.Key), fileTmpPattern, []byte(token))
}

// Remove implements keyring.Keyring.
func (k *fileKeyring) Remove(key string) error {
	if err := os.Remove(k.filename(key)); err != nil {
		return err
	}
	syncDir(k.dir)
	return nil
}

// Keys implements keyring.Keyring. A missing directory is an empty
// keyring (and is not created); temporary files are skipped.
func (k *fileKeyring) Keys() ([]string, error) {
	entries, err := os.ReadDir(k.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		keys = append(keys, percent.Decode(e.Name()))
	}
	return keys, nil
}
