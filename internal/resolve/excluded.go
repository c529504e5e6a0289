package resolve

import "strings"

// excludedPrefix starts the reason of a source that AZURE_TOKEN_CREDENTIALS
// left out of the chain.
const excludedPrefix = "excluded by AZURE_TOKEN_CREDENTIALS="

// excludedSource stands in the chain for a source AZURE_TOKEN_CREDENTIALS
// left out, so that whoami's "sources tried" still lists it, as skipped
// and saying why: a configured service principal that silently stops
// counting under AZURE_TOKEN_CREDENTIALS=dev looks like a bug otherwise.
// It never loads anything.
type excludedSource struct {
	name, value string
}

func (s excludedSource) Name() string { return s.name }

func (s excludedSource) Load(*Config) (*Candidate, error) {
	return nil, unavailable("%s%s", excludedPrefix, s.value)
}

// narrowed returns the sources of the chain in their order, those not in
// keep standing in as excluded by AZURE_TOKEN_CREDENTIALS=value.
func narrowed(keep []string, value string) []Source {
	var out []Source
	for _, n := range SourceNames {
		if !strings.Contains(","+strings.Join(keep, ",")+",", ","+n+",") {
			out = append(out, excludedSource{name: n, value: value})
			continue
		}
		s, _ := NewSource(n)
		out = append(out, s)
	}
	return out
}

// isExcluded reports whether a was a source AZURE_TOKEN_CREDENTIALS left
// out: not one to suggest configuring.
func isExcluded(a Attempt) bool {
	return a.Status == StatusSkipped && strings.HasPrefix(a.Reason, excludedPrefix)
}
