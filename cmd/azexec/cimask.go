package main

import (
	"io"
	"slices"
	"strings"

	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/resolve"
)

// ciMasker tells a CI runner which values to hide in the job's log, before
// azexec prints them (`azexec token`, `azexec env`) or hands them to the
// child, who might print them: GitHub Actions' `::add-mask::VALUE` and
// Azure Pipelines' `##vso[task.setsecret]VALUE`, one line per line of a
// multi-line value, as both runners mask line by line.
//
// These lines are the only place azexec ever writes a value to its own
// stderr, and only when the trusted process environment says it runs in
// that CI (GITHUB_ACTIONS=true, TF_BUILD=True): an env file cannot turn
// them on.
//
// Why stderr: both runners read workflow commands from a step's stderr as
// well as its stdout, so stderr is as good for the runner, and it is the
// stream that is not redirected when a step writes `azexec token > t` or
// `azexec env > app.env`; mask lines on stdout would put every value into
// that file, next to the runner's copy. What the runners do:
//   - GitHub Actions runner, src/Runner.Worker/Handlers/ScriptHandler.cs:
//     a `run:` step's StepHost.OutputDataReceived and ErrorDataReceived
//     each feed an OutputManager built with the ActionCommandManager, which
//     processes `::command::` lines from either stream.
//   - Azure Pipelines agent, src/Agent.Worker/Handlers/NodeHandler.cs (the
//     handler of the Bash, CmdLine and AzureCLI tasks): StepHost
//     OutputDataReceived and ErrorDataReceived both go to OnDataReceived,
//     which runs CommandManager.TryProcessCommand on each line.
type ciMasker struct {
	w       io.Writer
	formats []func(string) string
	seen    map[string]bool
}

// newCIMasker returns a masker for the CI named by azexec's own
// environment; it writes nothing outside CI.
func newCIMasker(env resolve.Environ, w io.Writer) *ciMasker {
	m := &ciMasker{w: w, seen: map[string]bool{}}
	if env.Get("GITHUB_ACTIONS") == "true" {
		// The runner unescapes %25, %0D and %0A in a command's data, so a
		// literal % must be sent as %25 (what @actions/core's setSecret
		// does); lines are split first, so no CR or LF remains.
		m.formats = append(m.formats, func(v string) string {
			return "::add-mask::" + strings.ReplaceAll(v, "%", "%25")
		})
	}
	if strings.EqualFold(env.Get("TF_BUILD"), "true") {
		m.formats = append(m.formats, vsoSetSecret)
	}
	return m
}

// mask announces every line of every value, once each, in one write
// before the caller prints or hands the values on.
func (m *ciMasker) mask(values ...string) error {
	if len(m.formats) == 0 {
		return nil
	}
	var b strings.Builder
	for _, v := range values {
		// .NET's line reader, which both runners use, ends a line at CR,
		// LF or CRLF: split the same way, or a lone CR in a value would
		// start a line of its own, outside the mask command (a workflow
		// command injected by the value).
		for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if strings.TrimSpace(line) == "" || m.seen[line] {
				continue
			}
			m.seen[line] = true
			for _, f := range m.formats {
				b.WriteString(f(line))
				b.WriteByte('\n')
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(m.w, b.String())
	return err
}

// credentialValueVars hold a credential's value (not a path or an id):
// masked when azexec sets them or an env file does, and they reach the
// child or azexec's output.
var credentialValueVars = []string{
	"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD",
	"ARM_CLIENT_SECRET", "ARM_CLIENT_CERTIFICATE_PASSWORD", "ARM_OIDC_TOKEN",
	"IDENTITY_HEADER", "MSI_SECRET", "AZEXEC_KEYRING_PASSWORD",
}

// secretValues are the values azexec resolved or set for the child: every
// Key Vault reference resolved, every --token, and credential variables
// that did not come from azexec's own environment (the CI masks its own
// secrets already). Plain env-file values are not masked: masking
// ordinary words would hide them all over the log.
func secretValues(env *inject.Env, refs []resolvedRef, tokenVars []string) []string {
	var vals []string
	for _, v := range secretVars(env, refs, tokenVars) {
		vals = append(vals, v.value)
	}
	return vals
}

// secretVars are secretValues with the variables that hold them, for
// messages that name one (outputmask.go).
func secretVars(env *inject.Env, refs []resolvedRef, tokenVars []string) []namedValue {
	names := append([]string(nil), tokenVars...)
	for _, r := range refs {
		names = append(names, r.Variable)
	}
	for _, k := range credentialValueVars {
		if env.Origin(k).Kind != inject.OriginProcess {
			names = append(names, k)
		}
	}
	var vars []namedValue
	for _, k := range names {
		if v, ok := env.Get(k); ok && v != "" {
			vars = append(vars, namedValue{k, v})
		}
	}
	return vars
}

// vsoEscapes are what the Azure Pipelines agent unescapes in a command's
// data (CommandStringConvertor: %3B, %0D, %0A, %5D, and %AZP25 when the
// agent's DECODE_PERCENTS knob is on), case-sensitively.
var vsoEscapes = []string{"%3B", "%0D", "%0A", "%5D", "%AZP25"}

// vsoSetSecret is the setsecret line (or lines) for one line of a value.
// A value holding one of vsoEscapes would otherwise be registered in its
// unescaped form and then not be masked as printed; no escaping reaches
// the literal on every agent, so it is announced three ways: as it is,
// with % escaped as %AZP25 (exact where the knob is on), and in the pieces
// between the escapes (what remains masked where it is off).
func vsoSetSecret(v string) string {
	line := "##vso[task.setsecret]" + v
	if !strings.Contains(v, "%") || !slices.ContainsFunc(vsoEscapes, func(e string) bool { return strings.Contains(v, e) }) {
		return line
	}
	lines := []string{line, "##vso[task.setsecret]" + strings.ReplaceAll(v, "%", "%AZP25")}
	pieces := []string{v}
	for _, e := range vsoEscapes {
		var next []string
		for _, p := range pieces {
			next = append(next, strings.Split(p, e)...)
		}
		pieces = next
	}
	for _, p := range pieces {
		if len(p) >= minMaskPiece {
			lines = append(lines, "##vso[task.setsecret]"+p)
		}
	}
	return strings.Join(lines, "\n")
}

// minMaskPiece is the shortest piece of a value announced on its own:
// shorter ones would mask ordinary words all over the log.
const minMaskPiece = 6
