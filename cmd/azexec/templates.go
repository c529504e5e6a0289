package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/inject"
	"github.com/azexec/azexec/internal/providers"
	"github.com/azexec/azexec/internal/template"
)

// This file holds what azexec inject and --file VAR=TEMPLATE share: reading
// and parsing templates before any request, their references fetched with
// the environment's (references.go), and rendering. A template is
// untrusted input (docs/security.md): its references obey the same rules
// as an env file's, emulators included, and {{ env:NAME }} reads only the
// child's built environment, from which azexec's own secrets are gone.

// templateHint is the hint of every template syntax error.
const templateHint = "write {{ REFERENCE }} (" + providers.Syntax + "), {{ env:NAME }}, " +
	"optionally followed by | json, | yaml or | base64; {{{{ is a literal {{"

// maxTemplateSize bounds a template: a configuration file, not a disk
// image, and it is held in memory with every rendering.
const maxTemplateSize = 16 << 20

// readTemplate reads and parses the template at path ("-" is stdin, read
// from in), named name in messages. Syntax errors are usage errors, with
// every bad placeholder's FILE:LINE:COLUMN.
func readTemplate(path, name string, in io.Reader) (*template.Template, error) {
	var src []byte
	var err error
	if path == "-" {
		src, err = readAllLimited(in)
	} else {
		var f *os.File
		if f, err = os.Open(path); err == nil {
			src, err = readAllLimited(f)
			f.Close()
		}
	}
	if err != nil {
		return nil, fail.New(fail.Usage, "cannot read the template %q", name).Wrap(err)
	}
	t, err := template.Parse(name, src)
	if err != nil {
		return nil, templateError(err)
	}
	return t, nil
}

func readAllLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxTemplateSize+1))
	if err == nil && len(b) > maxTemplateSize {
		err = fmt.Errorf("larger than %d MiB", maxTemplateSize>>20)
	}
	return b, err
}

// templateError turns a template's problems into azexec's usage error.
func templateError(err error) error {
	return problemsError("invalid template", err, templateHint)
}

// problemsError reports a template's problems after lead: one on the
// error line, several on lines of their own.
func problemsError(lead string, err error, hint string) error {
	e, ok := err.(*template.Error)
	if !ok {
		return err
	}
	msg := lead + " " + strconv.Quote(e.Name) + ": " + e.Error()
	if len(e.Problems) > 1 {
		msg = fmt.Sprintf("%s %q (%d problems):\n  %s", lead, e.Name, len(e.Problems), strings.ReplaceAll(e.Error(), "\n", "\n  "))
	}
	return fail.New(fail.Usage, "%s", msg).WithHint("%s", hint)
}

// templateReferences lists each distinct reference of each template, at
// its first position, and refuses a loopback vault the user did not name
// with --keyvault-emulator, exactly as for an env file's references.
func templateReferences(tpls []*template.Template, emulators providers.Emulators) ([]pendingRef, error) {
	var refs []pendingRef
	for _, t := range tpls {
		pos := t.ReferencePositions()
		for _, r := range t.References() {
			p := pos[r][0]
			refs = append(refs, pendingRef{at: fmt.Sprintf("%s:%d:%d", t.Name(), p.Line, p.Col), ref: r})
		}
	}
	return refs, unnamedEmulators(refs, emulators)
}

// withTemplates is an openSession check that hands the session the parsed
// templates, so that checkReferences (given after it) checks their
// references before the identity is resolved.
func withTemplates(tpls []*template.Template) func(*session) error {
	return func(s *session) error {
		s.templates = tpls
		return nil
	}
}

// setTemplateSecret keeps a fetched value for rendering.
func (s *session) setTemplateSecret(r providers.Reference, v string) {
	if s.templateSecrets == nil {
		s.templateSecrets = make(map[providers.Reference]string)
	}
	s.templateSecrets[r] = v
}

// templateSecretValues are the fetched template values, for CI masking.
func (s *session) templateSecretValues() []string {
	var vals []string
	for _, v := range s.templateSecrets {
		if v != "" {
			vals = append(vals, v)
		}
	}
	return vals
}

// render fills t with the fetched secrets and the child's environment.
func (s *session) render(t *template.Template) ([]byte, error) {
	out, err := t.Render(template.Values{Secrets: s.templateSecrets, Env: s.env})
	if err != nil {
		return nil, problemsError("cannot render the template", err, envHint)
	}
	return out, nil
}

// envHint is the hint when {{ env:NAME }} names a variable that is not set.
const envHint = "{{ env:NAME }} reads the environment COMMAND receives: set NAME in the shell or an --env-file"

// fileFlag is one --file VAR=TEMPLATE: its template parsed and, once
// handed over, the in-memory file COMMAND reads as $VAR.
type fileFlag struct {
	variable string
	tpl      *template.Template
	live     *inject.LiveFile
	// idx is the file's place in COMMAND's ExtraFiles, -1 when it is on
	// disk (no memfd) and COMMAND finds it by path.
	idx int
}

// childFiles are the --file flags of one run.
type childFiles []*fileFlag

// parseFileFlags reads and parses every --file's template before any
// request, and reports every mistake at once.
func parseFileFlags(flags []string) (childFiles, error) {
	var files childFiles
	var problems []string
	seen := make(map[string]bool)
	for _, f := range flags {
		name, path, ok := strings.Cut(f, "=")
		if !ok || !validVarName(name) || path == "" {
			problems = append(problems, strconv.Quote(f)+": want VAR=TEMPLATE")
			continue
		}
		if seen[name] {
			problems = append(problems, name+" is given twice")
			continue
		}
		seen[name] = true
		if path == "-" {
			problems = append(problems, name+": a template cannot be stdin, which is COMMAND's")
			continue
		}
		t, err := readTemplate(path, path, nil)
		if err != nil {
			if len(flags) == 1 {
				return nil, err
			}
			problems = append(problems, "--file "+name+": "+err.Error())
			continue
		}
		files = append(files, &fileFlag{variable: name, tpl: t})
	}
	if len(problems) > 0 {
		return nil, fail.New(fail.Usage, "bad --file: %s", strings.Join(problems, "\n  ")).
			WithHint("--file VAR=TEMPLATE, e.g. --file APPSETTINGS_PATH=appsettings.tmpl.json; %s", templateHint)
	}
	return files, nil
}

// templates are the parsed templates, for the session.
func (fs childFiles) templates() []*template.Template {
	out := make([]*template.Template, len(fs))
	for i, f := range fs {
		out[i] = f.tpl
	}
	return out
}

// handOver renders every file (all before the first is created: a
// failure leaves nothing behind), puts each in an in-memory file and sets
// its variable to the path COMMAND opens: /dev/fd/N for a memfd, which
// depends on whether azexec replaces itself (afterMode), or the private
// file's path. seal makes the files unchangeable, azexec included; leave
// it off only when they will be rewritten (--watch-reload).
func (fs childFiles) handOver(s *session, h *handover, seal bool) error {
	contents := make([][]byte, len(fs))
	for i, f := range fs {
		var err error
		if contents[i], err = s.render(f.tpl); err != nil {
			return err
		}
	}
	for i, f := range fs {
		lf, err := inject.NewLiveFile(strings.ToLower(f.variable), contents[i])
		if err != nil {
			return err
		}
		h.closers = append(h.closers, lf.Close)
		if seal {
			if err := lf.Seal(); err != nil {
				return err
			}
		}
		f.live, f.idx = lf, -1
		origin := inject.Origin{Kind: inject.OriginAzexec}
		if lf.ChildFile() == nil {
			h.supervise = true
			s.env.Set(f.variable, lf.Path(), origin)
			s.log.Debug("file rendered to a private directory, removed on exit", "variable", f.variable, "template", f.tpl.Name())
			continue
		}
		idx, variable := len(h.files), f.variable
		f.idx = idx
		h.files = append(h.files, lf.ChildFile())
		before := h.afterMode
		h.afterMode = func(cmd *inject.Command, replace bool) {
			if before != nil {
				before(cmd, replace)
			}
			s.env.Set(variable, "/dev/fd/"+strconv.Itoa(inject.ChildFD(*cmd, idx, replace)), origin)
		}
		s.log.Debug("file rendered in memory", "variable", f.variable, "template", f.tpl.Name(), "sealed", seal)
	}
	return nil
}

// renew renders every file again with v into new sealed in-memory files
// and puts them in cmd's ExtraFiles at the old ones' places, for a restart
// (--watch): the old process keeps its files, the new one gets the new
// ones at the same /dev/fd/N. A file on disk (no memfd) is rewritten in
// place. All are rendered and created before any is swapped, so a failure
// changes none. The returned function releases the old files, once the
// old process has gone.
func (fs childFiles) renew(v template.Values, cmd *inject.Command) (release func(), err error) {
	fresh := make([]*inject.LiveFile, len(fs))
	defer func() {
		if err != nil {
			for _, lf := range fresh {
				if lf != nil {
					lf.Close()
				}
			}
		}
	}()
	contents := make([][]byte, len(fs))
	for i, f := range fs {
		if contents[i], err = f.tpl.Render(v); err != nil {
			return nil, problemsError("cannot render the template", err, envHint)
		}
		if f.idx < 0 {
			continue
		}
		if fresh[i], err = inject.NewLiveFile(strings.ToLower(f.variable), contents[i]); err != nil {
			return nil, err
		}
		if fresh[i].ChildFile() == nil { // memfds refused since the start: keep the old way
			fresh[i].Close()
			fresh[i] = nil
			continue
		}
		if err = fresh[i].Seal(); err != nil {
			return nil, err
		}
	}
	var old []*inject.LiveFile
	for i, f := range fs {
		if fresh[i] == nil {
			if err := f.live.Replace(contents[i]); err != nil {
				return nil, err
			}
			continue
		}
		old = append(old, f.live)
		f.live = fresh[i]
		cmd.ExtraFiles[f.idx] = fresh[i].ChildFile()
	}
	return func() {
		for _, lf := range old {
			lf.Close()
		}
	}, nil
}

// close releases the files current now (those renew made included).
func (fs childFiles) close() {
	for _, f := range fs {
		if f.live != nil {
			f.live.Close()
		}
	}
}

// rerender renders every file again with v, the values of a new
// resolution, and rewrites each in place (--watch): all are rendered
// before the first is rewritten, so a failure changes none.
func (fs childFiles) rerender(v template.Values) error {
	contents := make([][]byte, len(fs))
	for i, f := range fs {
		out, err := f.tpl.Render(v)
		if err != nil {
			return problemsError("cannot render the template", err, envHint)
		}
		contents[i] = out
	}
	for i, f := range fs {
		if err := f.live.Replace(contents[i]); err != nil {
			return err
		}
	}
	return nil
}
