package main

import (
	"cmp"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azexec/azexec/internal/endpoint"
	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/resolve"
)

// Injection modes: how COMMAND receives the identity.
const (
	injectAuto     = "auto"
	injectEnv      = "env"
	injectAuthFile = "auth-file"
	injectEndpoint = "endpoint"
	injectNone     = "none"
)

var injectModes = []string{injectAuto, injectEnv, injectAuthFile, injectEndpoint, injectNone}

// handover is what the child gets besides its environment: descriptors to
// inherit, and things that must be released when it exits. When release
// needs azexec alive (a server, a file on disk), supervise is set.
type handover struct {
	mode      string
	files     []*os.File
	closers   []func() error
	supervise bool
	// afterMode sets variables that depend on whether azexec replaces
	// itself (a /dev/fd/N path).
	afterMode func(cmd *inject.Command, replace bool)
}

func (h *handover) close() {
	for i := len(h.closers) - 1; i >= 0; i-- {
		h.closers[i]()
	}
}

// checkInjectMode validates --inject and --allow-scope before any network
// traffic.
func checkInjectMode(g globalOptions) error {
	if !slices.Contains(injectModes, g.Inject) {
		return fail.New(fail.Usage, "unknown inject mode %q", g.Inject).
			WithHint("use one of: %s", strings.Join(injectModes, ", "))
	}
	if len(g.AllowScopes) > 0 && g.Inject != injectEndpoint {
		return fail.New(fail.Usage, "--allow-scope limits the identity endpoint, but --inject is %q", g.Inject).
			WithHint("add --inject endpoint, or use azexec serve: in the other modes the child holds the credential itself")
	}
	for _, a := range g.AllowScopes {
		scope, err := providers.Scope(resolve.Clouds["public"], a)
		if err != nil {
			return err
		}
		if _, err := endpoint.AllowedResource(scope); err != nil {
			return fail.New(fail.Usage, "--allow-scope %q: %v", a, err).
				WithHint("give an alias, or the resource exactly as SDKs ask for it, such as https://vault.azure.net")
		}
	}
	return nil
}

// injectModeFor resolves auto: env for a service principal; endpoint for
// the CI sources (github, pipelines), whose job credentials the child
// never receives, so its own SDK could not find the identity; auto stays
// auto (nothing added, nothing removed) for any other identity.
func injectModeFor(requested string, id *resolve.Identity) string {
	switch {
	case requested != injectAuto:
		return requested
	case id.SP != nil:
		return injectEnv
	case id.Source == "github" || id.Source == "pipelines":
		return injectEndpoint
	}
	return requested
}

// needsSubscription reports whether COMMAND receives the subscription: in
// every mode that hands over the identity.
func needsSubscription(mode string) bool {
	return mode == injectEnv || mode == injectAuthFile || mode == injectEndpoint
}

// prepareHandover applies the injection mode to the session's environment.
func prepareHandover(s *session, g globalOptions) (*handover, error) {
	h := &handover{mode: injectModeFor(g.Inject, s.id)}
	if h.mode == injectAuto {
		// auto adds nothing for identities azexec holds no credential of,
		// and removes nothing: the child's own SDK finds the same managed
		// identity, workload token or login.
		s.log.Debug("inject auto: child environment left as is", "source", s.id.Source)
		return h, nil
	}
	s.log.Debug("inject mode chosen", "mode", h.mode, "requested", g.Inject)
	var err error
	switch h.mode {
	case injectEnv:
		err = injectServicePrincipal(s, g)
	case injectAuthFile:
		err = injectAuthFileMode(s, h)
	case injectEndpoint:
		err = injectEndpointMode(s, g, h)
	case injectNone:
		s.log.Debug("inject none: credential variables removed", "removed", inject.RemoveBootstrapSecrets(s.env))
	}
	if err != nil {
		h.close()
		return nil, err
	}
	if needsSubscription(h.mode) {
		setSubscription(s, g.ARM)
	}
	return h, nil
}

func injectServicePrincipal(s *session, g globalOptions) error {
	if s.id.SP == nil {
		return fail.New(fail.Usage, "--inject env needs a service principal, but the identity comes from %q", s.id.Source).
			WithHint("use --inject endpoint: the child's SDK then gets tokens for this identity from azexec")
	}
	if s.fileSP != nil {
		// The file's authority and tenants may steer its own secret only:
		// the child holds no other credential (the machine's managed
		// identity header, a federated token file, another certificate).
		s.log.Debug("service principal from an env file: other credentials removed", "removed", inject.RemoveBootstrapSecrets(s.env))
	}
	s.log.Debug("identity handed to the child as variables", "variables", inject.ServicePrincipalEnv(s.env, s.id))
	if g.ARM {
		s.log.Debug("terraform variables set", "variables", inject.TerraformEnv(s.env, s.id))
	}
	return nil
}

func injectAuthFileMode(s *session, h *handover) error {
	data, err := inject.AuthFileContent(s.id)
	if err != nil {
		return err
	}
	cf, err := inject.NewCredentialFile("azureauth.json", data)
	if err != nil {
		return err
	}
	h.closers = append(h.closers, cf.Close)
	removed := inject.RemoveBootstrapSecrets(s.env)
	if cf.File == nil {
		h.supervise = true
		s.env.Set("AZURE_AUTH_LOCATION", cf.Path, inject.Origin{Kind: inject.OriginAzexec})
		s.log.Debug("auth file written to a private directory, removed on exit", "removed", removed)
		return nil
	}
	h.files = append(h.files, cf.File)
	h.afterMode = func(cmd *inject.Command, replace bool) {
		fd := inject.ChildFD(*cmd, 0, replace)
		s.env.Set("AZURE_AUTH_LOCATION", "/dev/fd/"+strconv.Itoa(fd), inject.Origin{Kind: inject.OriginAzexec})
	}
	s.log.Debug("auth file handed over as a sealed in-memory file", "removed", removed)
	return nil
}

func injectEndpointMode(s *session, g globalOptions, h *handover) error {
	e, err := startEndpoint(s, g)
	if err != nil {
		return err
	}
	h.closers = append(h.closers, e.Close)
	h.supervise = true
	s.log.Debug("identity endpoint handed to the child", "removed", e.Apply(s.env))
	return nil
}

// startEndpoint starts the identity endpoint for the session's identity:
// on the listener serve made (g.endpoint), or on a free loopback port for
// --inject endpoint. Its secrets join the scrubber before any request can
// be logged.
func startEndpoint(s *session, g globalOptions) (*endpoint.Server, error) {
	place := g.endpoint
	if place == nil {
		place = &endpointPlace{}
	}
	var allow []string
	for _, a := range g.AllowScopes {
		scope, err := providers.Scope(s.id.Cloud, a)
		if err != nil {
			return nil, err
		}
		allow = append(allow, scope)
	}
	secret, err := endpoint.NewSecret()
	if err != nil {
		return nil, err
	}
	s.scrub.Add(secret)
	ln := place.listener
	if ln == nil {
		addr, _ := endpoint.ListenAddress(endpoint.DefaultListen, 0)
		if ln, err = endpoint.Listen(addr); err != nil {
			return nil, err
		}
	}
	e, err := endpoint.Start(endpoint.Options{
		Listener: ln, Secret: secret, Advertise: place.advertise,
		Credential: s.id.Credential, ClientID: s.id.ClientID, ObjectID: s.id.ObjectID,
		AllowResources: allow, Logger: s.log.Named("endpoint"),
	})
	if err != nil {
		return nil, err
	}
	for _, v := range e.Secrets() {
		s.scrub.Add(v)
	}
	if place.print != "" {
		if err := printEndpoint(place.out, place.print, e.Vars()); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// setSubscription gives the child the subscription, when one is known.
func setSubscription(s *session, arm bool) {
	if s.id.Subscription == "" {
		return
	}
	s.env.Set("AZURE_SUBSCRIPTION_ID", s.id.Subscription, inject.Origin{Kind: inject.OriginAzexec})
	if arm {
		s.env.Set("ARM_SUBSCRIPTION_ID", s.id.Subscription, inject.Origin{Kind: inject.OriginAzexec})
		s.env.Set("ARM_TENANT_ID", s.id.TenantID, inject.Origin{Kind: inject.OriginAzexec})
	}
}

// tokenRequest is one --token VAR=SCOPE, parsed before any network call.
type tokenRequest struct {
	name, scope string
}

// parseTokenFlags checks every --token before anything is fetched, and
// reports all mistakes at once. Aliases follow the cloud c.
func parseTokenFlags(c resolve.Cloud, flags []string) ([]tokenRequest, error) {
	var reqs []tokenRequest
	var problems []string
	for _, f := range flags {
		name, spec, ok := strings.Cut(f, "=")
		if !ok || !validVarName(name) || spec == "" {
			problems = append(problems, strconv.Quote(f)+": want VAR=SCOPE")
			continue
		}
		scope, err := providers.Scope(c, spec)
		if err != nil {
			problems = append(problems, strconv.Quote(f)+": "+err.Error())
			continue
		}
		reqs = append(reqs, tokenRequest{name: name, scope: scope})
	}
	if len(problems) > 0 {
		return nil, fail.New(fail.Usage, "bad --token: %s", strings.Join(problems, "; ")).
			WithHint("--token VAR=SCOPE, e.g. --token PGPASSWORD=ossrdbms; aliases: %s", strings.Join(providers.AliasNames(), ", "))
	}
	return reqs, nil
}

func validVarName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// fetchAll fetches everything COMMAND needs at once: Key Vault references,
// --token values and the subscription, concurrently. All or nothing: any
// failure means COMMAND does not start. Only this goroutine writes the
// session's environment: the token fetches hand their values back.
func fetchAll(ctx context.Context, s *session, g globalOptions, subscription bool) ([]resolvedRef, error) {
	reqs, err := parseTokenFlags(s.id.Cloud, g.Tokens)
	if err != nil {
		return nil, err
	}
	// --timeout bounds the whole fetch, and the first failure stops the
	// rest: all or nothing, so nothing else is worth waiting for.
	if g.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, g.Timeout)
		defer stop()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var tokens []string
	var tokenErr error
	wg.Add(2)
	go func() { defer wg.Done(); tokens, tokenErr = fetchTokens(ctx, s, reqs) }()
	go func() {
		defer wg.Done()
		if subscription {
			lookupSubscription(ctx, s, g.Subscription)
		}
	}()
	refs, refErr := resolveReferences(ctx, s, g)
	if refErr != nil {
		cancel()
	}
	wg.Wait()
	if err := cmp.Or(refErr, tokenErr); err != nil {
		return nil, err
	}
	for i, r := range reqs {
		s.env.Set(r.name, tokens[i], inject.Origin{Kind: inject.OriginAzexec})
		s.log.Debug("token set", "variable", r.name, "scope", r.scope)
	}
	return refs, nil
}

// fetchTokens gets every --token concurrently, one request per distinct
// scope (the identity's credential caches and coalesces per scope).
func fetchTokens(ctx context.Context, s *session, reqs []tokenRequest) ([]string, error) {
	type result struct {
		value string
		err   error
	}
	results := make([]result, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := s.id.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{r.scope}})
			results[i] = result{tok.Token, err}
		}()
	}
	wg.Wait()
	var problems []string
	values := make([]string, len(reqs))
	for i, r := range reqs {
		if err := results[i].err; err != nil {
			problems = append(problems, r.name+" ("+r.scope+"): "+firstLine(err.Error()))
			continue
		}
		s.scrub.Add(results[i].value)
		values[i] = results[i].value
	}
	if len(problems) > 0 {
		return nil, fail.New(fail.Fetch, "cannot get tokens: %s", strings.Join(problems, "; ")).
			WithHint("check that the identity may get tokens for that audience (some need an app registration or consent)")
	}
	return values, nil
}

// lookupSubscription completes the identity's subscription: --subscription,
// then what the source knew (AZURE_SUBSCRIPTION_ID, the auth file), then
// the Azure CLI's default for a CLI login, then the only subscription the
// identity can list. Failing to find one is not an error.
func lookupSubscription(ctx context.Context, s *session, flag string) {
	switch {
	case flag != "":
		s.id.Subscription = flag
		return
	case s.id.Subscription != "":
		return
	case s.id.Source == "cli":
		if sub := providers.CLIDefaultSubscription(os.LookupEnv); sub != "" {
			s.id.Subscription = sub
			s.log.Debug("subscription from the Azure CLI's default")
			return
		}
	}
	// A best-effort lookup: one try, bounded, so that an unreachable
	// Resource Manager never holds COMMAND back for long.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	subs, err := providers.ListSubscriptions(ctx, s.id.Credential, s.id.Cloud,
		&policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}, Transport: s.network.Transporter()})
	switch {
	case err != nil:
		if ne := resolve.AsNetworkError(err); ne != nil {
			err = ne // the host and the cause, not the SDK's URL and wrapping
		}
		s.log.Debug("subscription list unavailable", "error", firstLine(err.Error()))
	case len(subs) == 1:
		s.id.Subscription = subs[0].ID
		s.log.Debug("subscription: the only one the identity can see")
	default:
		s.log.Debug("subscription not chosen", "visible", len(subs))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
