package template

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/azexec/azexec/internal/providers"
)

// Template is a parsed template: literal text and placeholders, in order.
type Template struct {
	name  string
	parts []part
	refs  []providers.Reference
	envs  []string
}

// part is literal text, or a placeholder when ph is set.
type part struct {
	text string
	ph   *placeholder
}

// placeholder is one {{ ... }}: a reference or env:NAME, and its filters.
type placeholder struct {
	pos     Pos
	ref     providers.Reference
	env     string // set for {{ env:NAME }}
	filters []filter
}

// Pos is a position in a template: line and column from 1, the column
// counted in characters.
type Pos struct{ Line, Col int }

// Problem is one error at one position.
type Problem struct {
	Pos    Pos
	Reason string
}

// Error lists every problem of a template, each as FILE:LINE:COLUMN.
type Error struct {
	Name     string
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = fmt.Sprintf("%s:%d:%d: %s", e.Name, p.Pos.Line, p.Pos.Col, p.Reason)
	}
	return strings.Join(lines, "\n")
}

// Name is the name the template was parsed with (its file, for messages).
func (t *Template) Name() string { return t.name }

// References returns the distinct references the template names, in the
// order they first appear: what must be fetched to render it.
func (t *Template) References() []providers.Reference { return t.refs }

// EnvNames returns the distinct variables {{ env:NAME }} names, in order.
func (t *Template) EnvNames() []string { return t.envs }

// ReferencePositions returns every reference with the position of each
// place it is named, for messages that say where a failed one is used.
func (t *Template) ReferencePositions() map[providers.Reference][]Pos {
	out := make(map[providers.Reference][]Pos)
	for _, p := range t.parts {
		if p.ph != nil && p.ph.env == "" {
			out[p.ph.ref] = append(out[p.ph.ref], p.ph.pos)
		}
	}
	return out
}

const (
	open    = "{{"
	close   = "}}"
	literal = "{{{{"
	envPref = "env:"
)

// Parse parses src, named name in messages. On error it returns an
// *Error listing every problem, and no template.
func Parse(name string, src []byte) (*Template, error) {
	t := &Template{name: name}
	pc := &posCounter{src: src, line: 1, col: 1}
	var problems []Problem
	var text bytes.Buffer
	seenRef := make(map[providers.Reference]bool)
	seenEnv := make(map[string]bool)
	i := 0
	for i < len(src) {
		j := bytes.Index(src[i:], []byte(open))
		if j < 0 {
			text.Write(src[i:])
			break
		}
		start := i + j
		text.Write(src[i:start])
		if bytes.HasPrefix(src[start:], []byte(literal)) {
			text.WriteString(open)
			i = start + len(literal)
			continue
		}
		end := bytes.Index(src[start+len(open):], []byte(close))
		if end < 0 {
			problems = append(problems, Problem{pc.at(start), "{{ is not closed with }} (write {{{{ for a literal {{)"})
			break
		}
		innerStart := start + len(open)
		inner := string(src[innerStart : innerStart+end])
		i = innerStart + end + len(close)
		lead := len(inner) - len(strings.TrimLeft(inner, " \t\r\n"))
		pos := pc.at(start) // an empty placeholder's position is its {{
		if lead < len(inner) {
			pos = pc.at(innerStart + lead)
		}
		ph, reason := parsePlaceholder(inner)
		if reason != "" {
			problems = append(problems, Problem{pos, reason})
			continue
		}
		ph.pos = pos
		if text.Len() > 0 {
			t.parts = append(t.parts, part{text: text.String()})
			text.Reset()
		}
		t.parts = append(t.parts, part{ph: ph})
		switch {
		case ph.env != "" && !seenEnv[ph.env]:
			seenEnv[ph.env] = true
			t.envs = append(t.envs, ph.env)
		case ph.env == "" && !seenRef[ph.ref]:
			seenRef[ph.ref] = true
			t.refs = append(t.refs, ph.ref)
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Name: name, Problems: problems}
	}
	if text.Len() > 0 {
		t.parts = append(t.parts, part{text: text.String()})
	}
	return t, nil
}

// parsePlaceholder reads what is between {{ and }}. It returns the reason
// it is not a placeholder, which never quotes the text: a secret pasted
// into a template by mistake must not reach a log.
func parsePlaceholder(inner string) (*placeholder, string) {
	fields := strings.Split(inner, "|")
	expr := strings.TrimSpace(fields[0])
	ph := &placeholder{}
	for _, f := range fields[1:] {
		name := strings.TrimSpace(f)
		flt, ok := filters[name]
		if !ok {
			if validName(name) {
				return nil, fmt.Sprintf("unknown filter %q: use json, yaml or base64", name)
			}
			return nil, "a filter is json, yaml or base64"
		}
		ph.filters = append(ph.filters, flt)
	}
	switch {
	case expr == "":
		return nil, "empty placeholder: write {{ REFERENCE }} or {{ env:NAME }} (or {{{{ for a literal {{)"
	case len(expr) >= len(envPref) && strings.EqualFold(expr[:len(envPref)], envPref):
		name := strings.TrimSpace(expr[len(envPref):])
		if !validName(name) {
			return nil, "env: must be followed by a variable name (letters, digits and _)"
		}
		ph.env = name
		return ph, ""
	case providers.IsReference(expr):
		ref, err := providers.ParseReference(expr)
		if err != nil {
			return nil, "invalid key vault reference: " + err.Error()
		}
		ph.ref = ref
		return ph, ""
	}
	if err := providers.NearMiss(expr); err != nil {
		return nil, "invalid key vault reference: " + err.Error()
	}
	return nil, "not a key vault reference or env:NAME (write {{{{ for a literal {{)"
}

// validName reports whether n is a variable name: letters, digits and _,
// not starting with a digit.
func validName(n string) bool {
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

// posCounter turns byte offsets, asked for in increasing order, into
// positions, reading the text once.
type posCounter struct {
	src       []byte
	off       int
	line, col int
}

func (p *posCounter) at(off int) Pos {
	for p.off < off && p.off < len(p.src) {
		r, n := utf8.DecodeRune(p.src[p.off:])
		if r == '\n' {
			p.line, p.col = p.line+1, 1
		} else {
			p.col++
		}
		p.off += n
	}
	return Pos{p.line, p.col}
}
