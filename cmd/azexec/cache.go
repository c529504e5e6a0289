package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/profile"
)

// cacheCommand is `azexec cache`: the access tokens azexec keeps in the
// keyring between runs, listed by name (no decryption needed) or cleared.
func cacheCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "list or clear the access tokens cached in the keyring",
		Description: "azexec caches access tokens (never refresh tokens or secrets) of every identity source that\n" +
			"can be named before a request (env and auth-file service principals, profiles, az and azd\n" +
			"logins, workload and managed identity) in a keyring, per identity, tenant and scope, until\n" +
			"five minutes before they expire, so that a warm run asks nobody for a token. A profile's\n" +
			"tokens go in its keyring; the others in --keyring-backend, else the kernel keyring on Linux\n" +
			"(no passphrase, no desktop session, never on disk), the Keychain on macOS, the Credential\n" +
			"Manager on Windows. The key changes when the identity may have (az login as another user,\n" +
			"az account set into another tenant, a new secret): see docs/performance.md. --no-cache turns\n" +
			"it off for one run. Entries are named token:IDENTITY-HASH:TENANT:SCOPE, so listing and\n" +
			"clearing decrypt nothing. With --profile NAME only that profile's tokens are listed or cleared.",
		Flags:       commandFlags([]string{"keyring-backend", "profile"}),
		Subcommands: []*cli.Command{cacheListCommand(io), cacheClearCommand(io)},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fail.New(fail.Usage, "unknown cache command %q", c.Args().First()).WithHint("use list or clear")
			}
			return fail.New(fail.Usage, "no cache command given").WithHint("use list or clear")
		},
	}
}

// cacheOptions are the options of `azexec cache list` and `cache clear`.
type cacheOptions struct {
	globals globalOptions
}

func cacheListCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the cached tokens' entry names (never a token)",
		Flags: commandFlags([]string{"keyring-backend", "profile"}),
		Action: func(c *cli.Context) error {
			return runCacheList(io, cacheOptions{globals: readGlobals(c)})
		},
	}
}

func cacheClearCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "clear",
		Usage: "delete the cached tokens (all, or with --profile NAME that profile's)",
		Flags: commandFlags([]string{"keyring-backend", "profile"}),
		Action: func(c *cli.Context) error {
			return runCacheClear(io, cacheOptions{globals: readGlobals(c)})
		},
	}
}

// cacheTarget is one keyring and the entry-name prefix to act on there.
type cacheTarget struct {
	kr     *profile.Keyring
	prefix string
}

// cacheTargets chooses where the cached tokens are: the named profile's
// keyring (its tokens only), the --keyring-backend, or every keyring a
// profile uses and the keyring of every other source's tokens
// (profile.CacheBackend: the kernel keyring on Linux). That last one is
// skipped when it cannot be opened here: it then holds nothing.
func cacheTargets(store *profile.Store, g globalOptions) ([]cacheTarget, []profile.Profile, error) {
	ps, err := store.List()
	if err != nil {
		return nil, nil, err
	}
	if g.Profile != "" {
		p, err := store.Get(g.Profile)
		if err != nil {
			return nil, nil, err
		}
		kr, err := store.Keyring(store.BackendFor(p), false)
		if err != nil {
			return nil, nil, err
		}
		return []cacheTarget{{kr, profile.TokenEntryPrefix(profile.ServicePrincipalIdentity(p.TenantID, p.ClientID))}}, ps, nil
	}
	if g.KeyringBackend != "" {
		kr, err := store.Keyring(g.KeyringBackend, false)
		if err != nil {
			return nil, nil, err
		}
		return []cacheTarget{{kr, profile.TokenPrefix}}, ps, nil
	}
	var out []cacheTarget
	var opened []*profile.Keyring
	add := func(kr *profile.Keyring) {
		if !slices.Contains(opened, kr) {
			opened = append(opened, kr)
			out = append(out, cacheTarget{kr, profile.TokenPrefix})
		}
	}
	for _, p := range ps {
		kr, err := store.Keyring(store.BackendFor(p), false)
		if err != nil {
			return nil, nil, err
		}
		add(kr)
	}
	if b := profile.CacheBackend(); b != "" {
		if kr, err := store.Keyring(b, false); err == nil {
			add(kr)
		}
	}
	return out, ps, nil
}

func runCacheList(io streams, o cacheOptions) error {
	store, err := newStore(io, o.globals, io.errLog.Add)
	if err != nil {
		return err
	}
	targets, ps, err := cacheTargets(store, o.globals)
	if err != nil {
		return err
	}
	n := 0
	for _, t := range targets {
		names, err := t.kr.Keys(t.prefix)
		if err != nil {
			return err
		}
		for _, name := range names {
			fmt.Fprintf(io.out, "%-15s %s%s\n", t.kr.Backend, name, ownerOf(name, ps))
			n++
		}
	}
	if n == 0 {
		fmt.Fprintln(io.errOut, "azexec: no cached tokens")
	}
	return nil
}

// ownerOf names the profile whose identity a cache entry belongs to, when
// one does: entry names carry only a hash of the identity.
func ownerOf(name string, ps []profile.Profile) string {
	for _, p := range ps {
		if strings.HasPrefix(name, profile.TokenEntryPrefix(profile.ServicePrincipalIdentity(p.TenantID, p.ClientID))) {
			return "  (profile " + p.Name + ")"
		}
	}
	return ""
}

func runCacheClear(io streams, o cacheOptions) error {
	store, err := newStore(io, o.globals, io.errLog.Add)
	if err != nil {
		return err
	}
	targets, _, err := cacheTargets(store, o.globals)
	if err != nil {
		return err
	}
	for _, t := range targets {
		n, err := profile.ClearTokens(t.kr, t.prefix)
		if err != nil {
			return err
		}
		fmt.Fprintf(io.out, "%d cached token(s) deleted from the %s keyring\n", n, t.kr.Backend)
	}
	return nil
}
