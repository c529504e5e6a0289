package main

import (
	"bytes"
	"testing"

	"github.com/azexec/azexec/internal/resolve"
)

// TestCIMaskerLines: one line per line of a value (a lone CR ends a line,
// as the runners read it, so a value cannot inject a workflow command of
// its own), once each, empty lines skipped, % escaped for GitHub only;
// nothing at all outside CI, and nothing when only a look-alike value is
// set.
func TestCIMaskerLines(t *testing.T) {
	cases := []struct {
		name    string
		environ []string
		want    string
	}{
		{"github", []string{"GITHUB_ACTIONS=true"},
			"::add-mask::first 50%25\n::add-mask::second\n::add-mask::x\n::add-mask::::warning::injected\n::add-mask::tok\n"},
		{"pipelines", []string{"TF_BUILD=True"},
			"##vso[task.setsecret]first 50%\n##vso[task.setsecret]second\n##vso[task.setsecret]x\n##vso[task.setsecret]::warning::injected\n##vso[task.setsecret]tok\n"},
		{"neither", nil, ""},
		{"github not true", []string{"GITHUB_ACTIONS=1", "TF_BUILD=yes"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			m := newCIMasker(resolve.ProcessEnviron(tc.environ), &b)
			if err := m.mask("first 50%\r\nsecond\n\n  \n", "x\r::warning::injected", "tok", "second"); err != nil {
				t.Fatal(err)
			}
			if err := m.mask("tok"); err != nil { // announced once
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}

// TestVSOSetSecretEscapes: a value holding what the Azure Pipelines agent
// unescapes is announced so that it stays masked as printed: exactly with
// the agent's %AZP25 knob, in pieces without it.
func TestVSOSetSecretEscapes(t *testing.T) {
	got := vsoSetSecret("Server=db;Password=p%3Bw0rd%0Asecret")
	want := "##vso[task.setsecret]Server=db;Password=p%3Bw0rd%0Asecret\n" +
		"##vso[task.setsecret]Server=db;Password=p%AZP253Bw0rd%AZP250Asecret\n" +
		"##vso[task.setsecret]Server=db;Password=p\n" +
		"##vso[task.setsecret]secret"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := vsoSetSecret("plain 50% value"); got != "##vso[task.setsecret]plain 50% value" {
		t.Errorf("a value without escapes: %q", got)
	}
}
