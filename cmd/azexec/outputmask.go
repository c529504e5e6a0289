package main

import (
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/azexec/azexec/internal/mask"
	"github.com/azexec/azexec/internal/resolve"
)

// maskWanted decides --mask: --no-mask wins; then --mask or AZEXEC_MASK;
// else on in CI, off elsewhere. Only azexec's own environment says it runs
// in CI: an env file cannot turn masking off.
//
// Why not everywhere: masking makes azexec stay COMMAND's parent and, on a
// terminal, put a pseudo-terminal between the two. On a developer's own
// terminal the default is to get out of the way (replace mode: COMMAND
// gets azexec's PID, terminal and signals, at no cost), and the developer
// could read the values anyway. A CI log is read by others and kept, so
// there a value printed by mistake must not be shown.
func maskWanted(g globalOptions, env resolve.Environ) bool {
	switch {
	case g.NoMask:
		return false
	case g.MaskSet:
		return g.Mask
	}
	return inCI(env)
}

// inCI reports whether azexec's environment names a CI system: CI (set by
// GitHub Actions, GitLab, CircleCI, Travis, Buildkite and most others),
// GITHUB_ACTIONS, or Azure Pipelines' TF_BUILD.
func inCI(env resolve.Environ) bool {
	for _, k := range []string{"CI", "GITHUB_ACTIONS", "TF_BUILD"} {
		switch v := strings.ToLower(env.Get(k)); v {
		case "", "0", "false", "no":
		default:
			return true
		}
	}
	return false
}

// namedValue is a value COMMAND receives, with the variable that holds it.
type namedValue struct{ name, value string }

// outputMasker builds the masker of COMMAND's output from the values
// azexec resolved or set for it (secretVars).
func outputMasker(log hclog.Logger, vars []namedValue) *mask.Masker {
	m := mask.New()
	addMasked(log, m, vars)
	return m
}

// addMasked masks vars from now on, and warns, naming the variable and
// never the value, about each that is too short to mask: masking it would
// garble ordinary output. For values that change while COMMAND runs too.
func addMasked(log hclog.Logger, m *mask.Masker, vars []namedValue) {
	var values []string
	for _, v := range vars {
		if mask.TooShort(v.value) {
			log.Warn("value too short to mask; COMMAND's output shows it as printed", "variable", v.name, "shortest", mask.MinLength)
			continue
		}
		values = append(values, v.value)
	}
	m.Add(values...)
	log.Debug("masking COMMAND's output", "values", m.Len())
}

// maskRun is the run options' masker, or nil when masking is off.
func maskRun(s *session, g globalOptions, refs []resolvedRef) *mask.Masker {
	if !maskWanted(g, s.trusted) {
		return nil
	}
	return outputMasker(s.log, append(secretVars(s.env, refs, tokenVars(g.Tokens)), s.templateVars()...))
}

// templateVars are the Key Vault values that --file templates hold, named
// by their vault and secret: COMMAND may print the file it reads.
func (s *session) templateVars() []namedValue {
	var vars []namedValue
	for r, v := range s.templateSecrets {
		if v != "" {
			vars = append(vars, namedValue{"--file template secret " + r.Vault() + "/" + r.Secret, v})
		}
	}
	return vars
}
