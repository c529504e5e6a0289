package profile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/azexec/azexec/internal/keyring"

	"github.com/azexec/azexec/internal/fail"
)

// BackendNames are the keyring backends --keyring-backend accepts, in the
// library's own spelling.
var BackendNames = []string{"keychain", "wincred", "secret-service", "kwallet", "keyctl", "pass", "file"}

// CacheBackend is where the token cache of identities other than profiles
// is kept when no --keyring-backend is given: a store that needs neither a
// passphrase nor a desktop session, so that caching never prompts and
// never starts anything. On Linux the kernel keyring: per user, in kernel
// memory only (never on disk, not in swap), gone at reboot, which for
// access tokens of an hour is no loss. "" means no default here.
func CacheBackend() string {
	switch runtime.GOOS {
	case "linux":
		return "keyctl"
	case "darwin":
		return "keychain"
	case "windows":
		return "wincred"
	}
	return ""
}

// DefaultBackends are tried in order when no backend is named: the
// platform's native store, then the encrypted file for headless machines.
// The kernel keyring and pass are never picked silently: the first loses
// everything at reboot, the second needs a GPG setup of its own.
func DefaultBackends() []string {
	switch runtime.GOOS {
	case "darwin":
		return []string{"keychain", "file"}
	case "windows":
		return []string{"wincred", "file"}
	default:
		return []string{"secret-service", "kwallet", "file"}
	}
}

// serviceName namespaces azexec's entries in every backend (a keychain
// service, a Secret Service collection, a kernel keyring, a pass prefix),
// so that listing and clearing never see another program's items.
const serviceName = "azexec"

// ErrNotFound says a keyring has no entry of that name.
var ErrNotFound = errors.New("no such keyring entry")

// ErrNoPassphrase is what a PassphraseFunc returns when it may not prompt,
// or there is no terminal to prompt on, and AZEXEC_KEYRING_PASSWORD is not
// set: the file keyring then stays locked.
var ErrNoPassphrase = errors.New("no passphrase")

// PassphraseFunc returns the encrypted file keyring's passphrase. It may
// prompt only when interactive is set; confirm asks for it twice because
// the keyring is new and a typo would lock its entries away.
type PassphraseFunc func(dir string, interactive, confirm bool) (string, error)

// Keyring is one opened backend. Its methods are safe for concurrent use
// (the library's backends are not) and return *fail.Error values that say
// what to do: unlock the store, set the passphrase, choose another backend.
type Keyring struct {
	// Backend is the backend's name, e.g. "file".
	Backend string
	dir     string // the file backend's directory

	mu          sync.Mutex
	kr          keyring.Keyring
	interactive bool // the passphrase may be prompted for
	passphrase  PassphraseFunc
	// verified is set once an entry has been decrypted, proving the file
	// backend's passphrase.
	verified bool
}

// CheckBackend refuses a backend name azexec does not know.
func CheckBackend(name string) error {
	if name == "" || slices.Contains(BackendNames, name) {
		return nil
	}
	return fail.New(fail.Usage, "unknown keyring backend %q", name).
		WithHint("use one of: %s", strings.Join(BackendNames, ", "))
}

// available lists the backends this build and this machine offer.
func available() []string {
	var out []string
	for _, b := range keyring.AvailableBackends() {
		out = append(out, string(b))
	}
	return out
}

// unavailableError says a named backend cannot be opened here.
func unavailableError(name string, cause error) error {
	e := fail.New(fail.Identity, "keyring backend %q is not available here", name)
	if cause != nil && !errors.Is(cause, keyring.ErrNoAvailImpl) {
		e.Msg += ": " + firstLine(cause.Error())
	}
	hint := "available here: " + strings.Join(available(), ", ") + "; choose one with --keyring-backend or AZEXEC_KEYRING_BACKEND"
	switch name {
	case "secret-service", "kwallet":
		hint = "is a Secret Service (GNOME Keyring, KeePassXC) or KWallet running in this session? On a headless machine use --keyring-backend file"
	case "pass":
		hint = "install pass and run pass init GPG-ID first, or use --keyring-backend file"
	}
	return e.WithHint("%s", hint)
}

// get returns an entry's data, or ErrNotFound.
func (k *Keyring) get(key string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	item, err := k.kr.Get(k.name(key))
	if err != nil {
		return nil, k.translate(key, err)
	}
	k.verified = true
	return item.Data, nil
}

// set stores an entry, after proving the file backend's passphrase on an
// existing profile entry: otherwise a mistyped passphrase would silently
// start a second set of entries that the right one cannot read.
func (k *Keyring) set(key, label, description string, data []byte) error {
	return k.setExpiring(key, label, description, data, time.Time{})
}

// setExpiring is set for an entry that the kernel keyring may drop by
// itself at expires (a cached token); other backends keep it until it is
// replaced or cleared.
func (k *Keyring) setExpiring(key, label, description string, data []byte, expires time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.verifyLocked(); err != nil {
		return err
	}
	err := k.kr.Set(keyring.Item{
		Key: k.name(key), Data: data, Label: label, Description: description,
		KeychainNotSynchronizable: true, Expires: expires,
	})
	if err != nil {
		return k.translate(key, err)
	}
	return nil
}

// verifyLocked proves the file backend's passphrase, once per process, by
// decrypting an existing entry with it: profile entries first, then cached
// tokens. A damaged entry proves nothing either way and is passed over;
// one that the passphrase cannot unwrap, with no other entry that it can,
// means the passphrase is wrong. A keyring with no readable entry takes
// any passphrase: it is new, or nothing in it can be read anyway.
func (k *Keyring) verifyLocked() error {
	if k.Backend != "file" || k.verified {
		return nil
	}
	proven, refuted, err := k.tryPassphraseLocked("")
	if err != nil {
		return k.translate("", err)
	}
	if !proven && refuted != "" {
		return k.wrongPassphrase(refuted, true)
	}
	k.verified = true
	return nil
}

// maxProofs bounds how many entries tryPassphraseLocked decrypts: each
// costs a key derivation.
const maxProofs = 8

// tryPassphraseLocked decrypts the file backend's entries other than
// except, profile entries first, until one succeeds (proven). refuted
// names an entry the passphrase could not unwrap, when there was one.
// Only errors that stop the search (an unreadable directory, no
// passphrase) are returned.
func (k *Keyring) tryPassphraseLocked(except string) (proven bool, refuted string, err error) {
	names, err := k.kr.Keys()
	if err != nil {
		return false, "", err
	}
	var profiles, tokens []string
	for _, name := range names {
		switch key := k.key(name); {
		case key == except:
		case strings.HasPrefix(key, profilePrefix):
			profiles = append(profiles, name)
		case strings.HasPrefix(key, TokenPrefix):
			tokens = append(tokens, name)
		}
	}
	slices.Sort(profiles)
	slices.Sort(tokens)
	tried := 0
	for _, name := range append(profiles, tokens...) {
		if tried == maxProofs {
			break
		}
		tried++
		_, err := k.kr.Get(name)
		var de *entryDamagedError
		switch {
		case err == nil:
			return true, refuted, nil
		case errors.Is(err, errKeyUnwrap):
			if refuted == "" {
				refuted = k.key(name)
			}
		case errors.As(err, &de), errors.Is(err, keyring.ErrKeyNotFound), errors.Is(err, fs.ErrNotExist):
			// proves nothing; removed since listed
		default:
			return false, refuted, err
		}
	}
	return false, refuted, nil
}

// wrongPassphrase is the error for an entry the passphrase cannot unwrap
// when no other entry proves it right. others says whether another entry
// refuted it too; without one, damage to the entry cannot be ruled out.
func (k *Keyring) wrongPassphrase(key string, others bool) error {
	e := fail.New(fail.Identity, "cannot decrypt %q in the file keyring %q: wrong passphrase", key, k.dir)
	if others {
		return e.WithHint("use the passphrase the keyring was created with (AZEXEC_KEYRING_PASSWORD or the prompt)")
	}
	return e.WithHint("use the passphrase the keyring was created with (AZEXEC_KEYRING_PASSWORD or the prompt); "+
		"if it is the right one, the entry is damaged (no other entry to check the passphrase against): %s", repairHint(key))
}

// damagedEntry is the error for an entry no passphrase can decrypt.
func (k *Keyring) damagedEntry(key, reason string) error {
	return fail.New(fail.Identity, "the entry %q in the file keyring %q is corrupt: %s; no passphrase opens it", key, k.dir, reason).
		WithHint("%s", repairHint(key))
}

// repairHint says how to replace a damaged or unreadable entry.
func repairHint(key string) string {
	if name, ok := strings.CutPrefix(key, profilePrefix); ok {
		return fmt.Sprintf("store the secret again with azexec profile rotate %s, or remove the profile (azexec profile remove %s) and add it again", name, name)
	}
	return "drop it with azexec cache clear; azexec asks Entra ID for a new token meanwhile"
}

// remove deletes an entry; ErrNotFound when there was none.
func (k *Keyring) remove(key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.kr.Remove(k.name(key)); err != nil {
		return k.translate(key, err)
	}
	return nil
}

// exists reports whether an entry exists, without decrypting it where the
// backend allows (file); ok is false when the backend cannot tell without
// unlocking.
func (k *Keyring) exists(key string) (exists, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, err := k.kr.GetMetadata(k.name(key))
	switch {
	case err == nil:
		return true, true
	case errors.Is(err, keyring.ErrKeyNotFound):
		return false, true
	}
	return false, false
}

// Keys lists the names of the entries starting with prefix. No backend
// needs to decrypt anything for it.
func (k *Keyring) Keys(prefix string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.Backend == "file" {
		// The library creates the directory to list it; listing must not
		// leave anything behind.
		if _, err := os.Stat(k.dir); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	keys, err := k.kr.Keys()
	if err != nil {
		return nil, k.translate("", err)
	}
	var out []string
	for _, name := range keys {
		if key := k.key(name); strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out, nil
}

// colonsInFileNames is false where a file name may not hold ':' (on
// Windows a colon names an alternate data stream), and the file backend's
// entry names, which are file names, spell it %3A there.
var colonsInFileNames = runtime.GOOS != "windows"

// name is the backend's name for an entry key.
func (k *Keyring) name(key string) string {
	if k.Backend == "file" && !colonsInFileNames {
		return strings.ReplaceAll(key, ":", "%3A")
	}
	return key
}

// key is the entry key of a backend's name.
func (k *Keyring) key(name string) string {
	if k.Backend == "file" && !colonsInFileNames {
		return strings.ReplaceAll(name, "%3A", ":")
	}
	return name
}

// translate turns a backend's error into ErrNotFound or a *fail.Error with
// a hint. key is the entry concerned, or "".
func (k *Keyring) translate(key string, err error) error {
	var fe *fail.Error
	var de *entryDamagedError
	switch {
	case errors.As(err, &fe):
		return err // already says what to do (a passphrase prompt's own error)
	case errors.Is(err, keyring.ErrKeyNotFound), errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case errors.Is(err, ErrNoPassphrase):
		return fail.New(fail.Identity, "the encrypted file keyring %q is locked: no passphrase", k.dir).Wrap(err).
			WithHint("set AZEXEC_KEYRING_PASSWORD, or run azexec in a terminal to be asked for the passphrase")
	case k.Backend == "file" && errors.As(err, &de):
		return k.damagedEntry(key, de.reason)
	case k.Backend == "file" && errors.Is(err, errKeyUnwrap):
		// The passphrase is wrong, or this entry's wrapped key is damaged:
		// another entry that the passphrase does decrypt tells which.
		proven, refuted, perr := k.tryPassphraseLocked(key)
		if perr == nil && proven {
			k.verified = true
			return k.damagedEntry(key, "its key does not open with the passphrase that opens the keyring's other entries")
		}
		return k.wrongPassphrase(key, refuted != "")
	}
	msg := firstLine(err.Error())
	e := fail.New(fail.Identity, "keyring %s: %s", k.Backend, strings.ToLower(msg[:1])+msg[1:]).Wrap(err)
	switch k.Backend {
	case "secret-service", "kwallet", "keychain":
		return e.WithHint("unlock the %s keyring (log in to the desktop session), or choose another backend with --keyring-backend", k.Backend)
	case "keyctl":
		return e.WithHint("the kernel keyring may be disabled in this container or session; use --keyring-backend file")
	}
	return e.WithHint("choose another backend with --keyring-backend (file works everywhere)")
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "unknown error"
	}
	return s
}
