package profile

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/azexec/azexec/internal/keyring"

	"github.com/azexec/azexec/internal/fail"
)

// profilePrefix starts the keyring entry name of every profile's secret.
const profilePrefix = "profile:"

// Secret is a profile's client secret or certificate password. Its printed
// forms are redacted, so that one passed to a logger or an error by mistake
// shows nothing; Reveal is the one way out.
type Secret string

// Reveal returns the value itself.
func (s Secret) Reveal() string { return string(s) }

// String keeps %s and %v redacted.
func (s Secret) String() string { return "[redacted]" }

// GoString keeps %#v redacted too.
func (s Secret) GoString() string { return "[redacted]" }

// secretPayload is what a profile's keyring entry holds: versioned, so a
// later azexec can store more (a certificate itself) without guessing.
type secretPayload struct {
	Version int    `json:"v"`
	Secret  string `json:"secret"`
}

// Store is the profiles: the config file and the keyrings that hold their
// secrets. Opened keyrings are kept for the life of the Store, so a
// passphrase is asked for at most once per process.
type Store struct {
	// Dir is azexec's config directory: config.json, and keyring/ for the
	// encrypted file backend.
	Dir string
	// Backend, when set, overrides the backend recorded for a profile and
	// the default for a new one (--keyring-backend).
	Backend string
	// Passphrase unlocks the encrypted file backend; nil means it cannot be
	// unlocked.
	Passphrase PassphraseFunc
	// OnWait, when set, is told that a change must wait for the lock
	// another process holds (LockPath), so that a command can say why it
	// pauses.
	OnWait func(lockPath string)

	mu    sync.Mutex
	rings map[string]*Keyring
	// open opens one backend; tests replace it with an in-memory keyring.
	open func(cfg keyring.Config) (keyring.Keyring, error)
}

// NewStore returns the store in dir (DefaultDir for the user's own).
func NewStore(dir, backend string, passphrase PassphraseFunc) *Store {
	return &Store{Dir: dir, Backend: backend, Passphrase: passphrase}
}

// ConfigPath is the config file's path.
func (s *Store) ConfigPath() string { return filepath.Join(s.Dir, ConfigName) }

// FileDir is the encrypted file backend's directory.
func (s *Store) FileDir() string { return filepath.Join(s.Dir, "keyring") }

// List returns every profile, ordered by name. It reads only the config
// file: listing never unlocks a keyring.
func (s *Store) List() ([]Profile, error) {
	c, err := readConfig(s.ConfigPath())
	if err != nil {
		return nil, err
	}
	return c.sortedProfiles(), nil
}

// Get returns the named profile's config entry.
func (s *Store) Get(name string) (Profile, error) {
	c, err := readConfig(s.ConfigPath())
	if err != nil {
		return Profile{}, err
	}
	p, ok := c.Profiles[name]
	if !ok {
		return Profile{}, unknownProfile(name, c)
	}
	return p, nil
}

func unknownProfile(name string, c *configFile) error {
	e := fail.New(fail.Usage, "unknown profile %q", name)
	if len(c.Profiles) == 0 {
		return e.WithHint("no profile is configured; add one with azexec profile add %s --tenant TENANT --client-id CLIENT_ID", name)
	}
	var names []string
	for _, p := range c.sortedProfiles() {
		names = append(names, p.Name)
	}
	return e.WithHint("profiles: %s (azexec profile list)", strings.Join(names, ", "))
}

// BackendFor is the backend that holds p's secret: --keyring-backend when
// given, else the one recorded when p was added.
func (s *Store) BackendFor(p Profile) string {
	if s.Backend != "" {
		return s.Backend
	}
	return p.Backend
}

// Keyring opens a backend once per Store. An empty name means the platform
// default. interactive allows the file backend's passphrase prompt; a
// keyring opened without it gains it when asked for interactively later.
func (s *Store) Keyring(backend string, interactive bool) (*Keyring, error) {
	if err := CheckBackend(backend); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rings == nil {
		s.rings = map[string]*Keyring{}
	}
	if k, ok := s.rings[backend]; ok {
		k.mu.Lock()
		k.interactive = k.interactive || interactive
		k.mu.Unlock()
		return k, nil
	}
	k, err := s.openFirst(backend)
	if err != nil {
		return nil, err
	}
	k.interactive = interactive
	s.rings[backend] = k
	s.rings[k.Backend] = k
	return k, nil
}

// openFirst opens the named backend, or the first default one that opens.
func (s *Store) openFirst(backend string) (*Keyring, error) {
	if backend != "" {
		return s.openBackend(backend)
	}
	var lastErr error
	for _, b := range DefaultBackends() {
		if !slices.Contains(available(), b) {
			continue
		}
		k, err := s.openBackend(b)
		if err == nil {
			return k, nil
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = unavailableError(strings.Join(DefaultBackends(), ", "), nil)
	}
	return nil, lastErr
}

// openBackend opens one backend with azexec's settings.
func (s *Store) openBackend(name string) (*Keyring, error) {
	k := &Keyring{Backend: name, dir: s.FileDir(), passphrase: s.Passphrase}
	cfg := keyring.Config{
		AllowedBackends:                []keyring.BackendType{keyring.BackendType(name)},
		ServiceName:                    serviceName,
		KeychainTrustApplication:       true,
		KeychainAccessibleWhenUnlocked: true,
		FileDir:                        s.FileDir(),
		FilePasswordFunc:               k.prompt,
		KeyCtlScope:                    "user",
		KeyCtlPerm:                     keyctlPerm,
		KWalletAppID:                   serviceName,
		KWalletFolder:                  serviceName,
		LibSecretCollectionName:        serviceName,
		PassPrefix:                     serviceName,
		WinCredPrefix:                  serviceName,
	}
	if name == "file" && s.open == nil {
		k.kr = newFileKeyring(cfg.FileDir, cfg.FilePasswordFunc)
		return k, nil
	}
	open := s.open
	if open == nil {
		open = keyring.Open
	}
	kr, err := open(cfg)
	if err != nil {
		return nil, unavailableError(name, err)
	}
	k.kr = kr
	return k, nil
}

// prompt is the file backend's password function. The library calls it
// from inside Get and Set, with k.mu held by the caller.
func (k *Keyring) prompt(string) (string, error) {
	if k.passphrase == nil {
		return "", ErrNoPassphrase
	}
	confirm := false
	if k.interactive {
		keys, _ := k.kr.Keys()
		confirm = len(keys) == 0
	}
	p, err := k.passphrase(k.dir, k.interactive, confirm)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", ErrNoPassphrase
	}
	return p, nil
}

// Add stores a new profile: the secret in the keyring first, then the
// config entry, both under the store's lock (Store.lock), so that the name
// is checked, the secret stored and the config written with no other
// change in between. When the keyring refuses the secret the config is not
// touched; when the config cannot be written the secret is removed again:
// a profile is either whole or absent. It returns p with the backend that
// now holds the secret.
func (s *Store) Add(p Profile, secret Secret) (Profile, error) {
	if err := CheckName(p.Name); err != nil {
		return p, err
	}
	if err := p.CheckEnvFiles(); err != nil {
		return p, err
	}
	unlock, err := s.lock()
	if err != nil {
		return p, err
	}
	defer unlock()
	c, err := readConfig(s.ConfigPath())
	if err != nil {
		return p, err
	}
	if _, ok := c.Profiles[p.Name]; ok {
		return p, fail.New(fail.Usage, "profile %q already exists", p.Name).
			WithHint("replace its secret with azexec profile rotate %s, or remove it first with azexec profile remove %s", p.Name, p.Name)
	}
	k, err := s.Keyring(s.Backend, true)
	if err != nil {
		return p, err
	}
	p.Backend = k.Backend
	if err := s.storeSecret(k, p, secret); err != nil {
		return p, err
	}
	c.Profiles[p.Name] = p
	if err := writeConfig(s.ConfigPath(), c); err != nil {
		if rerr := k.remove(profilePrefix + p.Name); rerr != nil && !errors.Is(rerr, ErrNotFound) {
			return p, fail.New(fail.Usage, "%s; and removing the secret again failed: %s", err, rerr).
				WithHint("remove the keyring entry %q by hand", profilePrefix+p.Name)
		}
		return p, fail.New(fail.Usage, "%s (nothing was stored)", err).Wrap(err)
	}
	return p, nil
}

// storeSecret writes p's secret entry, replacing any old one.
func (s *Store) storeSecret(k *Keyring, p Profile, secret Secret) error {
	data, err := json.Marshal(secretPayload{Version: 1, Secret: secret.Reveal()})
	if err != nil {
		return err
	}
	return k.set(profilePrefix+p.Name, "azexec profile "+p.Name,
		p.SecretKind()+" of service principal "+p.ClientID+" in tenant "+p.TenantID, data)
}

// Secret reads p's secret from its keyring, and returns the keyring too:
// the token cache uses the one the profile's secret came from.
func (s *Store) Secret(p Profile) (Secret, *Keyring, error) {
	k, err := s.Keyring(s.BackendFor(p), true)
	if err != nil {
		return "", nil, err
	}
	data, err := k.get(profilePrefix + p.Name)
	if errors.Is(err, ErrNotFound) {
		return "", nil, fail.New(fail.Identity, "profile %q has no %s in the %s keyring", p.Name, p.SecretKind(), k.Backend).
			WithHint("its entry %q was removed outside azexec: store it again with azexec profile rotate %s, or drop the profile with azexec profile remove %s", profilePrefix+p.Name, p.Name, p.Name)
	}
	if err != nil {
		return "", nil, err
	}
	var pl secretPayload
	if err := json.Unmarshal(data, &pl); err != nil || pl.Version != 1 {
		return "", nil, fail.New(fail.Identity, "the keyring entry %q is not an azexec profile secret", profilePrefix+p.Name).
			WithHint("store it again with azexec profile rotate %s", p.Name)
	}
	return Secret(pl.Secret), k, nil
}

// Rotate replaces a profile's secret in place and drops the tokens cached
// for its identity, which the old secret obtained. It holds the store's
// lock, so that the profile cannot be removed or replaced while its secret
// is written: the one write is the whole change, and it either happens or
// leaves the old secret.
func (s *Store) Rotate(name string, secret Secret) (Profile, error) {
	return s.rotate(name, nil, secret)
}

// RotateProfile is Rotate for a profile read before the secret was: it
// refuses when the profile was removed, or added again for another service
// principal, in the meantime, instead of storing a secret meant for the
// old one.
func (s *Store) RotateProfile(p Profile, secret Secret) (Profile, error) {
	return s.rotate(p.Name, &p, secret)
}

func (s *Store) rotate(name string, want *Profile, secret Secret) (Profile, error) {
	if _, err := s.Get(name); err != nil { // an unknown name creates no lock file
		return Profile{}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return Profile{}, err
	}
	defer unlock()
	p, err := s.Get(name)
	if err != nil {
		return p, err
	}
	if want != nil && (p.TenantID != want.TenantID || p.ClientID != want.ClientID || p.CertificatePath != want.CertificatePath) {
		return p, fail.New(fail.Usage, "profile %q changed while its secret was read", name).
			WithHint("another azexec replaced it; run azexec profile show %s and rotate again if it is still the one", name)
	}
	k, err := s.Keyring(s.BackendFor(p), true)
	if err != nil {
		return p, err
	}
	if err := s.storeSecret(k, p, secret); err != nil {
		return p, err
	}
	_, _ = ClearTokens(k, TokenEntryPrefix(ServicePrincipalIdentity(p.TenantID, p.ClientID)))
	return p, nil
}

// Removal is what Remove did, for the command to report.
type Removal struct {
	Profile Profile
	// SecretMissing is set when the keyring held no secret any more.
	SecretMissing bool
	// Tokens is the number of cached tokens removed with it.
	Tokens int
}

// Remove deletes a profile under the store's lock: its config entry, then
// its secret, then the tokens cached for its identity. When the secret
// cannot be removed (a keyring that cannot be reached) the config entry is
// written back, so that everything stays in place to retry with; a secret
// already gone does not stop it. Writing the config first needs no
// passphrase to undo, as restoring a secret would.
func (s *Store) Remove(name string) (Removal, error) {
	if _, err := s.Get(name); err != nil { // an unknown name creates no lock file
		return Removal{}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return Removal{}, err
	}
	defer unlock()
	c, err := readConfig(s.ConfigPath())
	if err != nil {
		return Removal{}, err
	}
	p, ok := c.Profiles[name]
	if !ok {
		return Removal{}, unknownProfile(name, c)
	}
	r := Removal{Profile: p}
	k, err := s.Keyring(s.BackendFor(p), true)
	if err != nil {
		return r, err
	}
	delete(c.Profiles, name)
	if err := writeConfig(s.ConfigPath(), c); err != nil {
		return r, fail.New(fail.Usage, "%s (nothing was removed)", err).Wrap(err)
	}
	err = k.remove(profilePrefix + name)
	switch {
	case errors.Is(err, ErrNotFound):
		r.SecretMissing = true
	case err != nil:
		c.Profiles[name] = p
		if werr := writeConfig(s.ConfigPath(), c); werr != nil {
			return r, fail.New(fail.Identity, "%s; and writing the config entry back failed: %s", err, werr).Wrap(err).
				WithHint("profile %s is gone from the config but its secret is still in the %s keyring: add the profile again, or remove the entry %q by hand", name, k.Backend, profilePrefix+name)
		}
		kind := fail.KindOf(err)
		if kind == 0 {
			kind = fail.Identity
		}
		return r, fail.New(kind, "%s (nothing was removed)", err).Wrap(err) // the cause's hint still applies
	}
	r.Tokens, _ = ClearTokens(k, TokenEntryPrefix(ServicePrincipalIdentity(p.TenantID, p.ClientID)))
	return r, nil
}

// SecretPresent reports whether p's secret entry exists, when the backend
// can tell without unlocking (the file backend can); known is false
// otherwise.
func (s *Store) SecretPresent(p Profile) (present, known bool) {
	k, err := s.Keyring(s.BackendFor(p), false)
	if err != nil {
		return false, false
	}
	return k.exists(profilePrefix + p.Name)
}
