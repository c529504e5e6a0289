package endpoint

import (
	"github.com/azexec/azexec/internal/inject"
)

// Var is one variable a client of the endpoint needs.
type Var struct{ Name, Value string }

// Vars are the variables that lead every Azure SDK, the az CLI and older
// MSI_ENDPOINT-only clients to this server, in a stable order. Current
// SDKs prefer IDENTITY_ENDPOINT and IDENTITY_HEADER when both pairs are
// set, so setting both is safe. IDENTITY_HEADER and MSI_SECRET hold the
// run's secret, and MSI_ENDPOINT a path derived from it: all but
// IDENTITY_ENDPOINT are secrets.
func (s *Server) Vars() []Var {
	return []Var{
		{"IDENTITY_ENDPOINT", s.URL()},
		{"IDENTITY_HEADER", s.opts.Secret},
		{"MSI_ENDPOINT", s.base + s.msiPath},
		{"MSI_SECRET", s.opts.Secret},
	}
}

// Secrets are the values of Vars that grant tokens, for the log scrubber.
func (s *Server) Secrets() []string {
	return []string{s.opts.Secret, s.msiPath[len(msiPrefix):]}
}

// Apply gives the child this endpoint: the bootstrap secrets go, and Vars
// make every SDK's DefaultAzureCredential reach its managed identity
// credential. AZURE_CLIENT_ID stays only when it names the served
// identity, since the Go and Python SDKs send it as the user-assigned
// client_id. It returns the names removed, for the log.
func (s *Server) Apply(env *inject.Env) []string {
	removed := inject.RemoveBootstrapSecrets(env)
	if v, ok := env.Get("AZURE_CLIENT_ID"); ok && !sameID(v, s.opts.ClientID) {
		env.Unset("AZURE_CLIENT_ID")
		removed = append(removed, "AZURE_CLIENT_ID")
	}
	for _, v := range s.Vars() {
		env.Set(v.Name, v.Value, inject.Origin{Kind: inject.OriginAzexec})
	}
	return removed
}
