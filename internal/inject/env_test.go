package inject

import (
	"os"
	"reflect"
	"testing"
)

func TestNewEnv(t *testing.T) {
	env := NewEnv([]string{"B=2", "A=1", "A=again", "E=", "V=a=b"})
	for k, want := range map[string]string{"A": "again", "B": "2", "E": "", "V": "a=b"} {
		if got, ok := env.Get(k); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", k, got, ok, want)
		}
		if o := env.Origin(k); o != (Origin{Kind: OriginProcess}) {
			t.Errorf("Origin(%q) = %+v", k, o)
		}
	}
	if _, ok := env.Get("missing"); ok {
		t.Error("Get(missing) found")
	}
	want := []string{"A=again", "B=2", "E=", "V=a=b"}
	if got := env.Environ(); !reflect.DeepEqual(got, want) {
		t.Errorf("Environ() = %q, want %q", got, want)
	}
}

func TestEnvOddEntries(t *testing.T) {
	raw := []string{"NOEQUALS", "=empty-name", "=C:=C:\\dir", "", "==x", "A=1"}
	env := NewEnv(raw)
	if got, ok := env.Get("=C:"); !ok || got != "C:\\dir" {
		t.Errorf(`Get("=C:") = %q, %v`, got, ok)
	}
	if got, want := env.Keys(), []string{"=C:", "A"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}
	want := []string{"=C:=C:\\dir", "A=1", "NOEQUALS", "=empty-name", "==x"}
	if got := env.Environ(); !reflect.DeepEqual(got, want) {
		t.Errorf("Environ() = %q, want %q", got, want)
	}
	if _, ok := env.Get(""); ok {
		t.Error(`Get("") found a variable`)
	}
}

func TestEnvSetUnsetOrigin(t *testing.T) {
	env := NewEnv([]string{"A=1", "B=2"})
	file := Origin{Kind: OriginFile, File: "x.env", Line: 3}
	env.Set("A", "file", file)
	env.Set("C", "new", Origin{Kind: OriginAzexec})
	env.Unset("B")
	env.Unset("never-set")
	if got, _ := env.Get("A"); got != "file" || env.Origin("A") != file {
		t.Errorf("A = %q from %+v", got, env.Origin("A"))
	}
	if _, ok := env.Get("B"); ok || env.Origin("B") != (Origin{}) {
		t.Error("B still set")
	}
	if got := env.Keys(); !reflect.DeepEqual(got, []string{"A", "C"}) {
		t.Errorf("Keys() = %q", got)
	}
	if got := env.Environ(); !reflect.DeepEqual(got, []string{"A=file", "C=new"}) {
		t.Errorf("Environ() = %q", got)
	}
}

func TestEnvSortsByName(t *testing.T) {
	// Sorting NAME=VALUE strings would put "A.B=..." before "A=...".
	env := NewEnv([]string{"A.B=1", "A=2", "A_B=3"})
	want := []string{"A=2", "A.B=1", "A_B=3"}
	if got := env.Environ(); !reflect.DeepEqual(got, want) {
		t.Errorf("Environ() = %q, want %q", got, want)
	}
}

func TestEnvClone(t *testing.T) {
	env := NewEnv([]string{"A=1", "ODD"})
	c := env.Clone()
	c.Set("A", "2", Origin{Kind: OriginAzexec})
	c.Set("B", "3", Origin{Kind: OriginAzexec})
	if got, _ := env.Get("A"); got != "1" {
		t.Errorf("original A = %q after changing the clone", got)
	}
	if got := env.Environ(); !reflect.DeepEqual(got, []string{"A=1", "ODD"}) {
		t.Errorf("original Environ() = %q", got)
	}
	if got := c.Environ(); !reflect.DeepEqual(got, []string{"A=2", "B=3", "ODD"}) {
		t.Errorf("clone Environ() = %q", got)
	}
}

func TestEnvZeroAndNil(t *testing.T) {
	var zero Env
	zero.Set("A", "1", Origin{Kind: OriginAzexec})
	if got, ok := zero.Get("A"); !ok || got != "1" {
		t.Errorf("zero Env: Get = %q, %v", got, ok)
	}
	var nilEnv *Env
	if _, ok := nilEnv.Get("A"); ok || len(nilEnv.Keys()) != 0 || len(nilEnv.Environ()) != 0 {
		t.Error("nil Env is not empty")
	}
	nilEnv.Unset("A")
	if c := nilEnv.Clone(); c == nil {
		t.Error("Clone of nil is nil")
	}
}

func TestEnvLookup(t *testing.T) {
	env := NewEnv([]string{"HOME=/home/x"})
	var lookup func(string) (string, bool) = env.Lookup
	if got := os.Expand("$HOME/y", func(k string) string { v, _ := lookup(k); return v }); got != "/home/x/y" {
		t.Errorf("expanded %q", got)
	}
}

func TestEnvFromProcess(t *testing.T) {
	t.Setenv("INJECT_TEST_VAR", "x")
	env := NewEnv(os.Environ())
	if got, ok := env.Get("INJECT_TEST_VAR"); !ok || got != "x" {
		t.Errorf("Get = %q, %v", got, ok)
	}
}

func TestOriginString(t *testing.T) {
	for o, want := range map[Origin]string{
		{Kind: OriginProcess}:                      "process environment",
		{Kind: OriginFile, File: "a.env", Line: 7}: "a.env:7",
		{Kind: OriginAzexec}:                       "azexec",
	} {
		if got := o.String(); got != want {
			t.Errorf("%+v: %q, want %q", o, got, want)
		}
	}
}
