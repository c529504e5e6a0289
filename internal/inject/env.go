package inject

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Origin kinds: where a variable's value came from. Later features report
// them (`whoami`, `--explain`), so every value carries one.
const (
	// OriginProcess marks a variable inherited from azexec's own environment.
	OriginProcess = "process"
	// OriginFile marks a variable read from an --env-file; File and Line say
	// where.
	OriginFile = "file"
	// OriginAzexec marks a variable azexec set itself (a token, an endpoint).
	OriginAzexec = "azexec"
)

// Origin says where a variable's current value came from, so that a report
// can name a file and line instead of a value.
type Origin struct {
	Kind string // OriginProcess, OriginFile or OriginAzexec
	File string // the env file, for OriginFile
	Line int    // the line the assignment starts on, for OriginFile
}

// String names the origin for messages and logs: "process environment",
// "FILE:LINE" or "azexec". It never contains a value.
func (o Origin) String() string {
	switch o.Kind {
	case OriginProcess:
		return "process environment"
	case OriginFile:
		if o.Line == 0 {
			return o.File // a value an outer azexec's env file set
		}
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	default:
		return o.Kind
	}
}

// entry is one variable's value and where it came from.
type entry struct {
	value  string
	origin Origin
}

// Env is the child's environment as a value: built once, edited by each
// feature, and handed to exec. azexec never edits its own process
// environment, so what the child receives is exactly what this value holds
// and tests can build one without touching global state.
//
// Names are case-sensitive. A later Set of a name replaces an earlier one.
// Entries of the process environment that are not NAME=VALUE (no '=', or an
// empty name) are kept verbatim and passed on, but are not variables: Get
// does not see them. The zero Env is empty and ready to use. An Env is not
// safe for concurrent use.
type Env struct {
	vars map[string]entry
	odd  []string // verbatim entries that are not NAME=VALUE
}

// NewEnv builds an Env from an os.Environ()-style slice, every variable with
// origin "process". When a name appears twice, the later entry wins, as in
// os/exec.
func NewEnv(environ []string) *Env {
	e := &Env{}
	for _, kv := range environ {
		e.addEnviron(kv)
	}
	return e
}

// addEnviron adds one raw environ entry.
func (e *Env) addEnviron(kv string) {
	if kv == "" {
		return // carries nothing
	}
	k, v, ok := splitEnviron(kv)
	if !ok {
		e.odd = append(e.odd, kv)
		return
	}
	e.Set(k, v, Origin{Kind: OriginProcess})
}

// splitEnviron splits NAME=VALUE. A leading '=' belongs to the name, as in
// Windows' per-drive "=C:=C:\dir" entries (and as os/exec reads them).
func splitEnviron(kv string) (k, v string, ok bool) {
	from := 0
	if kv[0] == '=' {
		from = 1
	}
	i := strings.IndexByte(kv[from:], '=')
	if i < 0 {
		return "", "", false
	}
	k, v = kv[:from+i], kv[from+i+1:]
	if k == "" || k == "=" {
		return "", "", false
	}
	return k, v, true
}

// Get returns the value of k and whether it is set.
func (e *Env) Get(k string) (string, bool) {
	if e == nil {
		return "", false
	}
	en, ok := e.vars[k]
	return en.value, ok
}

// Lookup is Get with the signature of os.LookupEnv, so that code written
// against the process environment (os.Expand, SDK option builders) can read
// this one instead.
func (e *Env) Lookup(k string) (string, bool) { return e.Get(k) }

// Set sets k to v, recording where v came from. It replaces any earlier
// value and origin.
func (e *Env) Set(k, v string, o Origin) {
	if e.vars == nil {
		e.vars = make(map[string]entry)
	}
	e.vars[k] = entry{value: v, origin: o}
}

// Unset removes k, so that a stale variable (an old credential) does not
// reach the child.
func (e *Env) Unset(k string) {
	if e != nil {
		delete(e.vars, k)
	}
}

// Origin returns where k's value came from; the zero Origin when k is unset.
func (e *Env) Origin(k string) Origin {
	if e == nil {
		return Origin{}
	}
	return e.vars[k].origin
}

// Keys returns the names of the set variables, sorted, so that reports and
// tests are deterministic.
func (e *Env) Keys() []string {
	if e == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(e.vars))
}

// Environ returns the environment in the NAME=VALUE form exec wants,
// sorted by name, then the odd verbatim entries in their original order, so
// that the same Env always gives the child the same bytes.
func (e *Env) Environ() []string {
	keys := e.Keys()
	out := make([]string, 0, len(keys)+e.oddLen())
	for _, k := range keys {
		out = append(out, k+"="+e.vars[k].value)
	}
	if e != nil {
		out = append(out, e.odd...)
	}
	return out
}

// oddLen is the number of verbatim entries.
func (e *Env) oddLen() int {
	if e == nil {
		return 0
	}
	return len(e.odd)
}

// Clone returns an independent copy, so a feature can try changes without
// affecting the original.
func (e *Env) Clone() *Env {
	if e == nil {
		return &Env{}
	}
	return &Env{vars: maps.Clone(e.vars), odd: slices.Clone(e.odd)}
}
