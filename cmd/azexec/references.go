package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/providers"
)

// pendingRef is one variable whose value is a Key Vault reference, or one
// reference a template names (variable empty, at is its FILE:LINE:COLUMN).
type pendingRef struct {
	variable string
	origin   inject.Origin
	at       string
	ref      providers.Reference
}

// where names the reference for messages: the variable and its origin,
// or the template position.
func (r pendingRef) where() string {
	if r.variable == "" {
		return r.at
	}
	return r.variable + " (" + r.origin.String() + ")"
}

// resolvedRef is one reference resolved, as whoami --json and the debug
// log report it: where it was and what was read, never the value.
type resolvedRef struct {
	Variable string `json:"variable"`
	Origin   string `json:"origin"`
	Vault    string `json:"vault"`
	VaultURL string `json:"vaultUrl"`
	Secret   string `json:"secret"`
	Version  string `json:"version"`
	// ref is the parsed reference, and at a template reference's
	// FILE:LINE:COLUMN (Variable is then empty), for --watch.
	ref providers.Reference
	at  string
}

// resolveReferences replaces every Key Vault reference in the session's
// environment by its secret, keeping each variable's origin, and keeps the
// values of the templates' references for rendering. Every reference is
// parsed and checked before the first request, and all syntax errors are
// reported together (exit 2). Then the secrets are fetched concurrently;
// all or nothing: if one fails, the environment is left as it was and the
// error lists every failure (exit 4).
func resolveReferences(ctx context.Context, s *session, g globalOptions) ([]resolvedRef, error) {
	res, err := resolveReferencesIn(ctx, s, g, s.env, nil)
	if err != nil {
		return nil, err
	}
	for r, v := range res.fileSecrets {
		s.setTemplateSecret(r, v)
	}
	s.templateRefs = res.files
	return res.vars, nil
}

// resolution is what one resolution read: the variables' references (whose
// values it set in the environment), the templates' references, and the
// templates' values by reference.
type resolution struct {
	vars, files []resolvedRef
	fileSecrets map[providers.Reference]string
}

// resolveReferencesIn resolves the references of env and of the session's
// templates, setting env's variables; f, when given, is the fetcher to use
// (--watch keeps one for the whole run).
func resolveReferencesIn(ctx context.Context, s *session, g globalOptions, env *inject.Env, f *providers.Fetcher) (resolution, error) {
	if err := checkFetchOptions(g); err != nil {
		return resolution{}, err
	}
	emulators, err := keyVaultEmulators(g)
	if err != nil {
		return resolution{}, err
	}
	refs, err := findReferences(env, emulators)
	if err != nil {
		return resolution{}, err
	}
	fileRefs, err := templateReferences(s.templates, emulators)
	if err != nil {
		return resolution{}, err
	}
	if refs = append(refs, fileRefs...); len(refs) == 0 {
		return resolution{}, nil
	}
	if f == nil {
		f = newFetcher(s, g, emulators)
	}
	s.log.Debug("resolving key vault references", "references", len(refs), "concurrency", g.Concurrency, "timeout", g.Timeout)
	start := time.Now()
	all := make([]providers.Reference, len(refs))
	for i, r := range refs {
		all[i] = r.ref
	}
	results := f.Fetch(ctx, all)
	for _, res := range results {
		s.scrub.Add(res.Value.Reveal()) // before anything else is logged
	}
	if err := fetchFailures(refs, results); err != nil {
		return resolution{}, err
	}
	var res resolution
	for i, r := range refs {
		rr := resolvedRef{Variable: r.variable, Origin: r.origin.String(), Vault: r.ref.Vault(),
			VaultURL: r.ref.VaultURL(s.id.Cloud), Secret: r.ref.Secret, Version: results[i].Version, ref: r.ref}
		if r.variable == "" {
			if res.fileSecrets == nil {
				res.fileSecrets = make(map[providers.Reference]string)
			}
			res.fileSecrets[r.ref] = results[i].Value.Reveal()
			rr.Origin, rr.at = "", r.at
			res.files = append(res.files, rr)
			s.log.Debug("key vault reference resolved", "template", r.at, "vault", r.ref.Vault(),
				"secret", r.ref.Secret, "version", results[i].Version)
			continue
		}
		env.Set(r.variable, results[i].Value.Reveal(), r.origin)
		res.vars = append(res.vars, rr)
		s.log.Debug("key vault reference resolved", "variable", r.variable, "origin", rr.Origin,
			"vault", rr.Vault, "secret", r.ref.Secret, "version", results[i].Version)
	}
	s.log.Info("key vault references resolved", "references", len(refs), "elapsed", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// newFetcher is the Key Vault fetcher of the session's identity, with the
// fetch options and the emulators the user consented to.
func newFetcher(s *session, g globalOptions, emulators providers.Emulators) *providers.Fetcher {
	return &providers.Fetcher{Credential: s.id.Credential, Cloud: s.id.Cloud, ObjectID: s.id.ObjectID, TenantID: s.id.TenantID,
		Concurrency: g.Concurrency, Timeout: g.Timeout, Transport: s.network.Transporter(), Emulators: emulators}
}

// checkReferences is an openSession check: every reference's syntax, its
// vault (an emulator only by consent) and the fetch options, before the
// identity is resolved and before any request.
func checkReferences(g globalOptions) func(*session) error {
	return func(s *session) error {
		if err := checkFetchOptions(g); err != nil {
			return err
		}
		emulators, err := keyVaultEmulators(g)
		if err != nil {
			return err
		}
		refs, err := findReferences(s.env, emulators)
		if err != nil {
			return err
		}
		trefs, err := templateReferences(s.templates, emulators)
		if err == nil && len(refs)+len(trefs) > 0 {
			s.proveWith("keyvault")
		}
		return err
	}
}

// keyVaultEmulators reads --keyvault-emulator: the loopback vaults the
// user consented to. Only this trusted input makes a vault an emulator.
func keyVaultEmulators(g globalOptions) (providers.Emulators, error) {
	emulators, err := providers.NewEmulators(g.KeyVaultEmulators)
	if err != nil {
		return nil, fail.New(fail.Usage, "--keyvault-emulator: %s", err).
			WithHint("name an emulator as localhost:8443, 127.0.0.1:8443 or [::1]:8443 (several: repeat the flag or separate with commas)")
	}
	return emulators, nil
}

// checkFetchOptions validates --concurrency and --timeout.
func checkFetchOptions(g globalOptions) error {
	if g.Concurrency < 1 {
		return fail.New(fail.Usage, "--concurrency must be at least 1, not %d", g.Concurrency).
			WithHint("it is only a ceiling: each vault's limit adapts below it (default %d)", providers.DefaultConcurrency)
	}
	if g.Timeout <= 0 {
		return fail.New(fail.Usage, "--timeout must be positive, not %s", g.Timeout).
			WithHint("give a duration such as 60s or 2m")
	}
	return nil
}

// findReferences parses every variable that is written as a reference,
// in the order of their origins (the process environment, then each file
// line by line), and reports all syntax errors at once; then every
// reference to a vault on loopback that emulators does not name.
func findReferences(env *inject.Env, emulators providers.Emulators) ([]pendingRef, error) {
	var refs []pendingRef
	var problems []string
	for _, k := range referenceNames(env) {
		v, _ := env.Get(k)
		ref, err := providers.ParseReference(v)
		if nm := providers.NearMiss(v); nm != nil {
			err = nm // a misspelt reference: an error, not a value passed on
		}
		if err != nil {
			problems = append(problems, k+" ("+env.Origin(k).String()+"): "+err.Error())
			continue
		}
		refs = append(refs, pendingRef{variable: k, origin: env.Origin(k), ref: ref})
	}
	if len(problems) != 0 {
		return nil, fail.New(fail.Usage, "%s", listProblems("invalid key vault reference in", "invalid key vault references", problems, nil)).
			WithHint("write %s", providers.Syntax)
	}
	return refs, unnamedEmulators(refs, emulators)
}

// unnamedEmulators refuses the references to loopback vaults that the
// user did not name with --keyvault-emulator. A reference may come from a
// repository's env file; left to itself it could send the identity's
// token to whatever listens on a local port.
func unnamedEmulators(refs []pendingRef, emulators providers.Emulators) error {
	var problems, addrs []string
	for _, r := range refs {
		if emulators.Allows(r.ref) {
			continue
		}
		addr := r.ref.EmulatorAddr()
		problems = append(problems, fmt.Sprintf("%s: vault %q", r.where(), r.ref.Host))
		if !slices.Contains(addrs, addr) {
			addrs = append(addrs, addr)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fail.New(fail.Usage, "%s", listProblems("key vault reference to an emulator --keyvault-emulator does not name:",
		"key vault references to emulators --keyvault-emulator does not name", problems, nil)).
		WithHint("a vault on loopback is a Key Vault emulator, and azexec sends it a token only when you name it; "+
			"if you run one there yourself: --keyvault-emulator %s (or AZEXEC_KEYVAULT_EMULATOR)", strings.Join(addrs, ","))
}

// referenceNames returns the variables whose values are references,
// sorted by origin: process environment first, then by file and line,
// then by name.
func referenceNames(env *inject.Env) []string {
	var names []string
	for _, k := range env.Keys() {
		if v, _ := env.Get(k); providers.IsReference(v) || providers.NearMiss(v) != nil {
			names = append(names, k)
		}
	}
	slices.SortStableFunc(names, func(a, b string) int {
		oa, ob := env.Origin(a), env.Origin(b)
		return cmp.Or(
			cmp.Compare(boolInt(oa.Kind != inject.OriginProcess), boolInt(ob.Kind != inject.OriginProcess)),
			cmp.Compare(oa.File, ob.File),
			cmp.Compare(oa.Line, ob.Line))
	})
	return names
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fetchFailures lists every reference that could not be read, each with
// its own hint, or returns nil.
func fetchFailures(refs []pendingRef, results []providers.Result) error {
	var problems, hints []string
	for i, r := range refs {
		e := results[i].Err
		if e == nil && r.variable != "" && strings.IndexByte(results[i].Value.Reveal(), 0) >= 0 {
			e = &providers.FetchError{Ref: r.ref, Status: 200, Reason: "the secret holds a NUL byte",
				Hint: "an environment variable cannot hold a NUL byte: store the secret encoded (base64)"}
		}
		if e == nil {
			continue
		}
		problems = append(problems, r.where()+": "+e.Error())
		hints = append(hints, e.Hint)
	}
	if len(problems) == 0 {
		return nil
	}
	err := fail.New(fail.Fetch, "%s", listProblems("key vault reference not resolved:",
		fmt.Sprintf("key vault references not resolved (%d of %d)", len(problems), len(refs)), problems, hints))
	if len(problems) == 1 {
		return err.WithHint("%s", hints[0])
	}
	return err.WithHint("nothing was started: every reference must resolve; see the hint under each")
}

// listProblems formats one problem on the error line itself, or several
// on lines of their own, each followed by its hint when there is one.
func listProblems(one, many string, problems, hints []string) string {
	if len(problems) == 1 {
		return one + " " + problems[0]
	}
	var b strings.Builder
	b.WriteString(many + ":")
	for i, p := range problems {
		b.WriteString("\n  " + p)
		if i < len(hints) && hints[i] != "" {
			b.WriteString("\n    hint: " + hints[i])
		}
	}
	return b.String()
}
