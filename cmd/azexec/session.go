package main

import (
	"cmp"
	"context"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/profile"
	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/resolve"
	"github.com/azexec/azexec/internal/template"
)

// session is what every command that acts as an identity shares: the
// logger, the environment the user configured, and the resolved identity.
type session struct {
	log   hclog.Logger
	scrub *scrubber
	env   *inject.Env
	// trusted is azexec's own process environment, the only one the
	// identity chain reads; fileVars are what the env files set, checked
	// against the trust rule before the chain runs.
	trusted  resolve.Environ
	fileVars []resolve.FileValue
	// fileSP is set when the identity is a service principal an env file
	// declared with its own secret: the child then gets no other
	// credential (handover.go).
	fileSP   *resolve.FileServicePrincipal
	id       *resolve.Identity
	attempts []resolve.Attempt
	detach   func()
	// store holds the profiles and the keyring of the token cache; nil
	// when neither --profile nor --keyring-backend is given.
	store *profile.Store
	// network is the HTTP client of every request to Azure, with connect
	// timeouts fitted to --timeout; it knows why a host was not reached.
	network *resolve.Network
	// timeout is --timeout: it bounds the sign-in, and then each command's
	// own requests (withTimeout).
	timeout time.Duration
	// proofScope, set by a check, is the scope (an alias or a scope, as
	// providers.Scope reads it) of the first token the run needs: the
	// identity is proven with it, so that the proof is that token and not
	// an extra request (a Resource Manager token nobody uses, a second az
	// run). The command's own ProofScope wins; the cloud's Resource
	// Manager scope when neither is set.
	proofScope string
	// skipIdentity, set by a check, ends openSession once the
	// configuration is checked, before the identity is resolved: nothing
	// the command does needs one (s.id stays nil).
	skipIdentity bool
	// templates are the templates of azexec inject and --file, whose
	// references are checked and fetched with the environment's;
	// templateSecrets holds their values, by reference, once fetched.
	templates       []*template.Template
	templateSecrets map[providers.Reference]string
	// templateRefs are the templates' references as resolved (versions
	// read), for --watch.
	templateRefs []resolvedRef
}

// withTimeout bounds ctx by --timeout, for the requests a command makes
// after the sign-in (a plugin's token, a registry's exchange).
func (s *session) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// openSession builds the logger and the environment, runs the checks that
// need only the environment (reference syntax: bad input is reported
// before any network call), then resolves the identity. The caller must
// call close.
func openSession(ctx context.Context, io streams, g globalOptions, checks ...func(*session) error) (*session, error) {
	l, scrub, err := newLogger(io.errLog, g.LogLevel, g.LogFormat)
	if err != nil {
		return nil, err
	}
	s := &session{log: l, scrub: scrub, detach: routeSDKLog(l, scrub), network: resolve.NewNetwork(g.Timeout), timeout: g.Timeout}
	scrub.Add(keyringPasswordValue()) // known before any keyring opens
	if g, err = withProfileDefaults(g); err != nil {
		s.close()
		return nil, err
	}
	if s.store, err = sessionStore(io, g, scrub.Add); err != nil {
		s.close()
		return nil, err
	}
	environ := processEnviron()
	s.trusted = resolve.ProcessEnviron(environ)
	s.env = inject.NewEnv(environ)
	// Values an outer azexec's env file set are still values from an env
	// file here: checked by the same rule, never trusted.
	s.trusted, s.fileVars = s.trusted.SplitInherited()
	for _, v := range s.fileVars {
		s.env.Set(v.Name, v.Value, inject.Origin{Kind: inject.OriginFile, File: v.File})
	}
	for _, f := range g.EnvFiles {
		vars, err := inject.ReadEnvFile(f)
		if err != nil {
			s.close()
			return nil, err
		}
		for _, v := range vars {
			if !publicName(v.Key) {
				scrub.Add(v.Value)
			}
		}
		inject.Apply(s.env, vars)
		for _, v := range vars {
			s.fileVars = append(s.fileVars, resolve.FileValue{Name: v.Key, Value: v.Value, File: v.File, Line: v.Line})
		}
		l.Debug("env file read", "file", f, "variables", len(vars))
	}
	// Every program azexec starts gets its environment from s.env: drop
	// azexec's own secrets (the keyring passphrase, a CI job's request
	// credentials) from it once, here, for every mode and command.
	if removed := inject.RemoveAzexecSecrets(s.env); len(removed) > 0 {
		l.Debug("azexec's own secrets kept from the child", "removed", removed)
	}
	for _, check := range checks {
		if err := check(s); err != nil {
			s.close()
			return nil, err
		}
	}
	cfg, sources, err := s.config(g)
	if err != nil {
		s.close()
		return nil, err
	}
	if s.skipIdentity {
		l.Debug("no identity resolved: nothing needs one")
		return s, nil
	}
	// Each source gets the chain's own 30 s, or all of a longer --timeout,
	// which resolveWithin applies to the chain as a whole.
	chain := &resolve.Chain{Sources: sources, OnSecret: scrub.Add, Cache: s.tokenCache(g), Timeout: max(g.Timeout, 30*time.Second)}
	s.id, s.attempts, err = resolveWithin(ctx, g.Timeout, chain, cfg)
	if err != nil {
		s.close()
		return nil, err
	}
	l.Info("identity resolved", "source", s.id.Source, "kind", s.id.Kind, "tenant", s.id.TenantID, "client_id", s.id.ClientID)
	return s, nil
}

// resolveWithin runs the chain within --timeout, the sign-in and the
// authority discovery before it included: a sign-in endpoint that cannot
// be reached must not hold azexec for longer than the user allowed (each
// source is also bounded by the chain's own limit).
func resolveWithin(ctx context.Context, timeout time.Duration, chain *resolve.Chain, cfg *resolve.Config) (*resolve.Identity, []resolve.Attempt, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return chain.Resolve(ctx, cfg)
}

// config turns the global options and the trusted environment into the
// chain's configuration and its list of sources. The env files' values
// reach it only through resolve.CheckEnvFiles, which enforces the trust
// rule (docs/security.md).
func (s *session) config(g globalOptions) (*resolve.Config, []resolve.Source, error) {
	c, err := resolve.LookupCloud(g.Cloud)
	if err != nil {
		return nil, nil, err
	}
	if host, ok := s.trusted.Lookup("AZURE_AUTHORITY_HOST"); ok && host != "" {
		if c, err = c.WithAuthorityHost(host); err != nil {
			return nil, nil, err
		}
	}
	atc, atcSet := s.trusted.Lookup("AZURE_TOKEN_CREDENTIALS")
	sources, err := selectSources(g, atc, atcSet)
	if err != nil {
		return nil, nil, err
	}
	fileSP, err := resolve.CheckEnvFiles(s.fileVars, slices.ContainsFunc(sources, func(src resolve.Source) bool { return src.Name() == "env" }))
	if err != nil {
		return nil, nil, err
	}
	sub, _ := s.env.Get("AZURE_SUBSCRIPTION_ID")
	cfg := &resolve.Config{
		Env:           s.trusted,
		FileSP:        fileSP,
		Subscription:  sub,
		LookPath:      exec.LookPath,
		Cloud:         c,
		CloudExplicit: g.CloudSet,
		AuthFile:      g.AuthFile,
		ClientID:      g.ClientID,
		Profile:       g.Profile,
		Profiles:      s.store,
		Network:       s.network,
		Logger:        s.log,

		ServiceConnection: g.ServiceConnection,
	}
	if fileSP != nil {
		s.fileSP = fileSP
		s.log.Debug("service principal from an env file, which holds its secret", "file", fileSP.File)
	}
	if spec := cmp.Or(g.ProofScope, s.proofScope); spec != "" {
		cfg.Scope = func(c resolve.Cloud) string {
			scope, _ := providers.Scope(c, spec) // validated by the command
			return scope
		}
	}
	return cfg, sources, nil
}

// proveWith makes spec the proof scope unless a check chose one first.
func (s *session) proveWith(spec string) {
	if s.proofScope == "" {
		s.proofScope = spec
	}
}

// proveWithFirstToken is an openSession check: without Key Vault
// references, the first --token's scope proves the identity.
func proveWithFirstToken(flags []string) func(*session) error {
	return func(s *session) error {
		if len(flags) > 0 {
			if _, spec, ok := strings.Cut(flags[0], "="); ok {
				s.proveWith(spec)
			}
		}
		return nil
	}
}

// markUntrusted tells an azexec run inside COMMAND which of its variables
// came from an env file (resolve.UntrustedVarsVar), so that it applies the
// env-file rule to them instead of trusting them as its own environment.
func (s *session) markUntrusted() {
	var names []string
	for _, k := range s.env.Keys() {
		if s.env.Origin(k).Kind == inject.OriginFile {
			names = append(names, k)
		}
	}
	if s.fileSP != nil {
		// azexec set them again itself, but from the file.
		for _, k := range resolve.FileSPVars() {
			if _, ok := s.env.Get(k); ok && !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	if len(names) == 0 {
		s.env.Unset(resolve.UntrustedVarsVar)
		return
	}
	slices.Sort(names)
	s.env.Set(resolve.UntrustedVarsVar, strings.Join(names, ","), inject.Origin{Kind: inject.OriginAzexec})
}

func (s *session) close() {
	if s.detach != nil {
		s.detach()
	}
}
