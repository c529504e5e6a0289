package template

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/azexec/azexec/internal/providers"
)

// Env is the environment {{ env:NAME }} reads: the child's built
// environment (inject.Env satisfies it), never azexec's own.
type Env interface {
	Get(name string) (string, bool)
}

// Values are what a template is filled with.
type Values struct {
	// Secrets holds the value of every reference of References().
	Secrets map[providers.Reference]string
	// Env is the child's environment; nil when the template names none.
	Env Env
}

// Render fills the template. It fails, naming positions and never a
// value, when a variable is not set or a secret is missing from v; it
// returns no partial output.
func (t *Template) Render(v Values) ([]byte, error) {
	var out bytes.Buffer
	var problems []Problem
	for _, p := range t.parts {
		if p.ph == nil {
			out.WriteString(p.text)
			continue
		}
		val, reason := p.ph.value(v)
		if reason != "" {
			problems = append(problems, Problem{p.ph.pos, reason})
			continue
		}
		for _, f := range p.ph.filters {
			if val, reason = f(val); reason != "" {
				break
			}
		}
		if reason != "" {
			problems = append(problems, Problem{p.ph.pos, reason})
			continue
		}
		out.WriteString(val)
	}
	if len(problems) > 0 {
		return nil, &Error{Name: t.name, Problems: problems}
	}
	return out.Bytes(), nil
}

func (ph *placeholder) value(v Values) (string, string) {
	if ph.env != "" {
		if v.Env != nil {
			if val, ok := v.Env.Get(ph.env); ok {
				return val, ""
			}
		}
		return "", fmt.Sprintf("env:%s is not set in the command's environment", ph.env)
	}
	val, ok := v.Secrets[ph.ref]
	if !ok {
		return "", fmt.Sprintf("secret %q of vault %q was not fetched", ph.ref.Secret, ph.ref.Vault())
	}
	return val, ""
}

// filter quotes a value for a file type, or says why it cannot (never
// quoting the value).
type filter func(string) (string, string)

var filters = map[string]filter{
	"json":   textOnly("json", jsonString),
	"yaml":   textOnly("yaml", yamlString),
	"base64": func(s string) (string, string) { return base64.StdEncoding.EncodeToString([]byte(s)), "" },
}

// textOnly refuses a value that is not UTF-8: JSON and YAML are Unicode
// text, so such a value would come back as other bytes. Key Vault secrets
// are always text; a variable may not be.
func textOnly(name string, f func(string) string) filter {
	return func(s string) (string, string) {
		if !utf8.ValidString(s) {
			return "", "the value is not valid UTF-8, which | " + name + " cannot hold exactly: use | base64"
		}
		return f(s), ""
	}
}

// jsonString is s as a JSON string, quotes included. HTML characters are
// left as they are: the file is configuration, not a web page.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// yamlString is s (valid UTF-8) as a YAML double-quoted scalar, quotes
// included: the one YAML style in which any text, newlines and quotes
// included, fits on one line with escapes.
func yamlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			b.WriteString(yamlEscape(r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func yamlEscape(r rune) string {
	if r <= 0xff {
		return `\x` + pad(strconv.FormatInt(int64(r), 16), 2)
	}
	return `\u` + pad(strconv.FormatInt(int64(r), 16), 4)
}

func pad(s string, n int) string { return strings.Repeat("0", n-len(s)) + s }
