package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"golang.org/x/term"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
	"github.com/azexec/azexec/internal/resolve"
)

// This file connects the commands to internal/profile: the store of the
// run, the file keyring's passphrase, reading a secret without echo, and
// the persistent token cache the chain uses.

// keyringPasswordVar holds the encrypted file keyring's passphrase for
// runs without a terminal (CI, kubectl plugins, tests).
const keyringPasswordVar = "AZEXEC_KEYRING_PASSWORD"

// keyringPassword is AZEXEC_KEYRING_PASSWORD as main found it, once
// takeKeyringPassword has moved it out of the process environment.
var keyringPassword struct {
	value string
	taken bool
}

// takeKeyringPassword moves AZEXEC_KEYRING_PASSWORD out of azexec's process
// environment into a variable, first thing in main. The passphrase unlocks
// every profile and the token cache, far more than any run needs, so no
// program azexec starts may inherit it: not COMMAND (inject.AlwaysRemoved
// drops it from the child's environment in every mode), and not the
// programs the Azure SDK starts with os.Environ() (az, azd, pwsh), which
// azexec cannot otherwise filter. This is the one change azexec makes to
// its own environment, and it only removes.
//
// The kernel's copy of the initial environment (/proc/self/environ) cannot
// be cleared from user space; the string also stays in memory until it is
// collected. Both are closed to other processes by harden.Process
// (non-dumpable), not by this.
func takeKeyringPassword() {
	keyringPassword.value, _ = os.LookupEnv(keyringPasswordVar)
	keyringPassword.taken = true
	_ = os.Unsetenv(keyringPasswordVar)
}

// keyringPasswordValue is the passphrase from the environment: the one
// main took, or, in-process where main did not run, the current value.
func keyringPasswordValue() string {
	if keyringPassword.taken {
		return keyringPassword.value
	}
	return os.Getenv(keyringPasswordVar)
}

// newStore returns the profile store in the user's config directory, with
// --keyring-backend applied and the passphrase taken from
// AZEXEC_KEYRING_PASSWORD or the terminal. onSecret learns the passphrase,
// so the log scrubs it.
func newStore(io streams, g globalOptions, onSecret func(string)) (*profile.Store, error) {
	if err := profile.CheckBackend(g.KeyringBackend); err != nil {
		return nil, err
	}
	dir, err := profile.DefaultDir()
	if err != nil {
		return nil, err
	}
	s := profile.NewStore(dir, g.KeyringBackend, passphraseFunc(io, onSecret))
	s.OnWait = func(lock string) {
		fmt.Fprintf(io.errOut, "azexec: waiting for another azexec to finish changing profiles (%s)\n", lock)
	}
	return s, nil
}

// sessionStore is newStore for commands that act as an identity: they need
// a store only when a profile is named or a keyring backend is chosen, and
// must not fail for want of a HOME otherwise.
func sessionStore(io streams, g globalOptions, onSecret func(string)) (*profile.Store, error) {
	if g.Profile == "" && g.KeyringBackend == "" {
		return nil, nil
	}
	return newStore(io, g, onSecret)
}

// passphraseFunc reads the file keyring's passphrase from
// AZEXEC_KEYRING_PASSWORD, else from the terminal when allowed; a new
// keyring's is asked for twice.
func passphraseFunc(io streams, onSecret func(string)) profile.PassphraseFunc {
	return func(dir string, interactive, confirm bool) (string, error) {
		if p := keyringPasswordValue(); p != "" {
			onSecret(p)
			return p, nil
		}
		if !interactive {
			return "", profile.ErrNoPassphrase
		}
		p, err := readHidden(io, "passphrase of the encrypted keyring "+dir)
		if err != nil {
			return "", err
		}
		if confirm {
			again, err := readHidden(io, "the same passphrase again (the keyring is new)")
			if err != nil {
				return "", err
			}
			if again != p {
				return "", fail.New(fail.Usage, "the passphrases differ").
					WithHint("run the command again; nothing was stored")
			}
		}
		onSecret(p)
		return p, nil
	}
}

// readHidden reads one line from the terminal without echo: stdin when it
// is a terminal, else the controlling terminal (/dev/tty), so that a
// secret piped on stdin and a passphrase typed can both be had. Without a
// terminal it returns profile.ErrNoPassphrase.
func readHidden(io streams, prompt string) (string, error) {
	if f, ok := io.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return readHiddenFrom(io.intr, int(f.Fd()), io.errOut, prompt)
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", profile.ErrNoPassphrase
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", profile.ErrNoPassphrase
	}
	return readHiddenFrom(io.intr, int(tty.Fd()), tty, prompt)
}

// readHiddenFrom prompts on w and reads a line from the terminal fd
// without echo. When the wrapper catches a signal meanwhile (intr), it puts
// the terminal back as it was (echo on) and returns the interruption at
// once: the read itself cannot be cancelled, so it is left to die with the
// process.
func readHiddenFrom(intr *interrupts, fd int, w io.Writer, prompt string) (string, error) {
	fmt.Fprintf(w, "azexec: %s: ", prompt)
	state, _ := term.GetState(fd)
	type line struct {
		b   []byte
		err error
	}
	read := make(chan line, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		read <- line{b, err}
	}()
	select {
	case l := <-read:
		fmt.Fprintln(w)
		if l.err != nil {
			return "", fail.New(fail.Usage, "cannot read from the terminal: %s", l.err)
		}
		return string(l.b), nil
	case <-intr.caughtCh():
		if state != nil {
			_ = term.Restore(fd, state)
		}
		fmt.Fprintln(w)
		return "", intr.err()
	}
}

// maxSecret bounds what is read from stdin: a client secret is about 40
// bytes, a certificate password rarely more than a hundred.
const maxSecret = 64 << 10

// readSecret reads a profile's secret: from the terminal without echo when
// stdin is one, else from stdin (one line; the trailing newline is
// dropped). Never from argv or the environment, where other processes and
// shell history would see it. empty allows an empty value (a certificate
// without a password).
func readSecret(io streams, what string, empty bool) (profile.Secret, error) {
	var v string
	if f, ok := io.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		s, err := readHiddenFrom(io.intr, int(f.Fd()), io.errOut, what)
		if err != nil {
			return "", err
		}
		v = s
	} else {
		s, err := readStdinSecret(io.in, what)
		if err != nil {
			return "", err
		}
		v = s
	}
	if v == "" && !empty {
		return "", fail.New(fail.Usage, "no %s given", what).
			WithHint("type it at the prompt, or pipe it on stdin: ... | azexec profile add NAME --tenant T --client-id C")
	}
	return profile.Secret(v), nil
}

// readStdinSecret reads the whole of stdin as one line.
func readStdinSecret(r io.Reader, what string) (string, error) {
	if r == nil {
		return "", nil
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecret+1))
	if err != nil {
		return "", fail.New(fail.Usage, "cannot read the %s from stdin: %s", what, err)
	}
	if len(b) > maxSecret {
		return "", fail.New(fail.Usage, "the %s on stdin is longer than %d bytes", what, maxSecret).
			WithHint("pipe only the secret itself")
	}
	b = bytes.TrimRight(b, "\r\n")
	if bytes.ContainsAny(b, "\r\n") {
		return "", fail.New(fail.Usage, "the %s on stdin spans several lines", what).
			WithHint("pipe only the secret, on one line")
	}
	return string(b), nil
}

// cacheBackend is the keyring of the token cache for identities other
// than a profile: --keyring-backend, else the platform's cache default,
// except in a Kubernetes pod (see inPod), where there is none.
func cacheBackend(g globalOptions) string {
	if g.KeyringBackend != "" {
		return g.KeyringBackend
	}
	if profile.CacheBackend() == "keyctl" && inPod() {
		return ""
	}
	return profile.CacheBackend()
}

// inPod reports a Kubernetes pod. The kernel keyring is the node's, not
// the container's: without a user namespace, every container whose
// processes run as the same uid (root, mostly) shares one user keyring,
// so a token one pod cached there could be read by another pod of another
// owner on the node. Pods cache nothing unless --keyring-backend says
// where. (Docker's and Kubernetes' default seccomp profiles forbid keyctl
// anyway; this covers pods run without one.)
func inPod() bool {
	return os.Getenv("KUBERNETES_SERVICE_HOST") != ""
}

// cacheStore is a store for the cache's keyring alone, when the run has
// none (no profile, no --keyring-backend): its directory matters only to
// the file backend, which is then never the one opened.
func cacheStore(backend string) *profile.Store {
	dir, err := profile.DefaultDir()
	if err != nil {
		dir = ""
	}
	return profile.NewStore(dir, backend, nil)
}

// withProfileDefaults applies the named profile's default env files and
// inject mode where the command line and the AZEXEC_* variables give none.
// An unknown profile is a usage error here, before anything else runs.
func withProfileDefaults(g globalOptions) (globalOptions, error) {
	if g.Profile == "" || g.profileApplied {
		return g, nil
	}
	if err := profile.CheckName(g.Profile); err != nil {
		return g, err
	}
	dir, err := profile.DefaultDir()
	if err != nil {
		return g, err
	}
	p, err := profile.NewStore(dir, "", nil).Get(g.Profile)
	if err != nil {
		return g, err
	}
	if err := p.CheckEnvFiles(); err != nil {
		return g, err
	}
	if !g.InjectSet && p.Inject != "" {
		g.Inject = p.Inject
	}
	if len(g.EnvFiles) == 0 {
		g.EnvFiles = p.EnvFiles
	}
	g.profileApplied = true
	return g, nil
}

// selectSources is the chain's sources: the profile alone when one is
// named, else what --identity and AZURE_TOKEN_CREDENTIALS select.
func selectSources(g globalOptions, atc string, atcSet bool) ([]resolve.Source, error) {
	if g.Profile != "" {
		return resolve.SelectProfile(g.Identity, g.Profile)
	}
	return resolve.Select(g.Identity, atc, atcSet)
}

// tokenCache returns the chain's persistent cache hook, or nil with
// --no-cache. Every source that can name its identity before a request is
// cached (resolve.CacheID): a profile in its own keyring (already unlocked
// for its secret), every other source in --keyring-backend when given,
// else in cacheBackend (the kernel keyring on Linux). The keyring is
// opened on the first token request, and one that cannot be opened
// without a prompt leaves the cache off, never the command failing.
func (s *session) tokenCache(g globalOptions) func(resolve.CacheID, azcore.TokenCredential) azcore.TokenCredential {
	if g.NoCache {
		s.log.Debug("persistent token cache off", "no_cache", g.NoCache)
		return nil
	}
	store := s.store
	open := func() (*profile.Keyring, error) {
		if g.Profile != "" {
			p, err := store.Get(g.Profile)
			if err != nil {
				return nil, err
			}
			return store.Keyring(store.BackendFor(p), true)
		}
		backend := cacheBackend(g)
		if backend == "" {
			return nil, errors.New("no default keyring for the token cache here (a container, or no platform keyring); choose one with --keyring-backend")
		}
		if store == nil {
			store = cacheStore(backend)
		}
		return store.Keyring(backend, false)
	}
	c := profile.NewTokenCache(open, s.log.Named("cache"))
	return func(id resolve.CacheID, cred azcore.TokenCredential) azcore.TokenCredential {
		return c.Wrap(id.Identity, id.Tenant, id.Binding, cred)
	}
}
