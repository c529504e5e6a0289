package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsNavigable: the README stays a front page (under 10 KB) that links
// every page under docs/, and every relative link in the README, docs/ and
// examples/README.md names a file that exists and, after '#', a heading it
// has.
func TestDocsNavigable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(readme) >= 10*1024 {
		t.Errorf("README.md is %d bytes; keep it under 10 KB and move topics to docs/", len(readme))
	}
	pages, _ := filepath.Glob("../docs/*.md")
	if len(pages) == 0 {
		t.Fatal("no docs/ pages")
	}
	for _, p := range pages {
		if !strings.Contains(string(readme), "](docs/"+filepath.Base(p)+")") {
			t.Errorf("README.md does not link %s", p)
		}
	}
	files := append([]string{"../README.md", "../examples/README.md"}, pages...)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
			}
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s: link %q: %v", f, target, err)
				continue
			}
			if frag != "" && !hasAnchor(t, file, frag) {
				t.Errorf("%s: link %q: no heading with that anchor in %s", f, target, file)
			}
		}
	}
}

// hasAnchor reports whether a Markdown file has a heading whose GitHub
// anchor is frag.
func hasAnchor(t *testing.T, file, frag string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	strip := regexp.MustCompile(`[^\w\- ]`)
	inCode := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(l, "#")))
		if strings.ReplaceAll(strip.ReplaceAllString(h, ""), " ", "-") == frag {
			return true
		}
	}
	return false
}
