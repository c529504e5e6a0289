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
		Description: "azexec caches access tokens (never refresh tokens or secrets) of service principals in the\n" +
			"keyring, per identity, tenant and scope, until five minutes before they expire, so that plugin\n" +
			"calls (kubectl, git, docker) do not each request one. The cache is used with --profile, or\n" +
			"when --keyring-backend names a keyring; --no-cache turns it off for one run. Entries are\n" +
			"named token:IDENTITY-HASH:TENANT:SCOPE, so listing and clearing decrypt nothing.\n" +
			"With --profile NAME only that profile's tokens are listed or cleared.",
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
// profile uses (the platform default when there is no profile).
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
	backends := []string{g.KeyringBackend}
	if g.KeyringBackend == "" && len(ps) > 0 {
		backends = nil
		for _, p := range ps {
			if b := store.BackendFor(p); !slices.Contains(backends, b) {
				backends = append(backends, b)
			}
		}
	}
	var out []cacheTarget
	for _, b := range backends {
		kr, err := store.Keyring(b, false)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, cacheTarget{kr, profile.TokenPrefix})
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
