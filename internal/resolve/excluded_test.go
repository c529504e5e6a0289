package resolve

import (
	"context"
	"testing"
)

// TestExcludedSourcesListedWithReason: under AZURE_TOKEN_CREDENTIALS=dev
// a configured service principal is not used, and the chain says so
// instead of leaving it out of "sources tried".
func TestExcludedSourcesListedWithReason(t *testing.T) {
	sources, err := Select("auto", "dev", true)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Env: ProcessEnviron([]string{"AZURE_TENANT_ID=t", "AZURE_CLIENT_ID=c", "AZURE_CLIENT_SECRET=s"}),
		LookPath: func(string) (string, error) { return "", errNotFound{} }, Cloud: Clouds["public"]}
	_, attempts, err := (&Chain{Sources: sources}).Resolve(context.Background(), cfg)
	if err == nil {
		t.Fatal("resolved an identity with no developer login")
	}
	want := []string{"env", "auth-file", "workload", "github", "pipelines", "managed", "cli", "azd"}
	if len(attempts) != len(want) {
		t.Fatalf("attempts %+v", attempts)
	}
	for i, a := range attempts {
		if a.Source != want[i] {
			t.Errorf("attempt %d is %q, want %q", i, a.Source, want[i])
		}
		excluded := i < 6
		if got := a.Status == StatusSkipped && a.Reason == "excluded by AZURE_TOKEN_CREDENTIALS=dev"; got != excluded {
			t.Errorf("%s: %s %q; excluded should be %v", a.Source, a.Status, a.Reason, excluded)
		}
	}
	if hint := noIdentityHint(attempts); hint != "configure one of: cli, azd (for local development: az login; see azexec --help)" {
		t.Errorf("hint suggests an excluded source: %q", hint)
	}
}

type errNotFound struct{}

func (errNotFound) Error() string { return "not found" }
