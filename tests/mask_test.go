package tests

// This file tests --mask end to end through pipes: the values azexec gives
// COMMAND are replaced in its stdout and stderr, the exit status and
// signals are supervise's, short values are left with a warning, and the
// CI default. mask_tty_test.go tests the terminal.

import (
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
)

const maskMarker = "<concealed by azexec>"

// maskScenario is a service principal and a vault holding secret, named by
// SECRET=keyvault://... in azexec's environment.
type maskScenario struct {
	f      *fake
	sp     sp
	secret string
	env    []string
}

func newMaskScenario(t *testing.T, secret string) maskScenario {
	t.Helper()
	f := startFake(t)
	p := f.homeSP()
	host := f.vaultHost(t, "kv-mask")
	f.setSecret(t, "kv-mask", "app-secret", "", secret)
	return maskScenario{f: f, sp: p, secret: secret,
		env: kvEnv(f, p, consent(host), "SECRET=keyvault://"+host+"/app-secret")}
}

// TestMaskExitStatusAndMarker: `azexec --mask -- sh -c 'echo $SECRET;
// exit 3'` exits 3 and prints the marker; the value, split over two
// writes, on stderr, base64-encoded, and the service principal's secret
// and a --token token the child prints are all masked; other output comes
// out as it is, each stream in order.
func TestMaskExitStatusAndMarker(t *testing.T) {
	t.Parallel()
	sc := newMaskScenario(t, "kv-"+randomHex(16))
	r := runAzexecResult(t, sc.env, "", "--mask", "--", "sh", "-c", `echo $SECRET; exit 3`)
	if r.code != 3 {
		t.Errorf("status %d, want 3", r.code)
	}
	if r.stdout != maskMarker+"\n" {
		t.Errorf("stdout %q, want the marker", r.stdout)
	}

	script := `
echo "plain 1"
printf '%s' "$SECRET" | head -c 7; sleep 0.2; printf '%s\n' "$SECRET" | tail -c +8
echo "err $SECRET" >&2
printf '%s' "user:$SECRET" | base64
echo "sp $AZURE_CLIENT_SECRET token $TOK"
echo "plain 2"
echo "err plain" >&2`
	r = runAzexecResult(t, sc.env, "", "--mask", "--token", "TOK=arm", "--", "sh", "-c", script)
	if r.code != 0 {
		t.Fatalf("status %d\n%s", r.code, r.stderr)
	}
	for _, leak := range []string{sc.secret, sc.sp.secret, base64.StdEncoding.EncodeToString([]byte(sc.secret))[4:20]} {
		if strings.Contains(r.stdout+r.stderr, leak) {
			t.Errorf("a value shows: %q\nstdout:\n%s\nstderr:\n%s", leak, r.stdout, r.stderr)
		}
	}
	lines := strings.Split(r.stdout, "\n")
	if len(lines) < 5 || lines[0] != "plain 1" || lines[1] != maskMarker || !strings.Contains(lines[2], maskMarker) ||
		lines[3] != "sp "+maskMarker+" token "+maskMarker || lines[4] != "plain 2" {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	if !strings.HasSuffix(r.stderr, "err "+maskMarker+"\nerr plain\n") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestMaskDefaultInCI: CI, GITHUB_ACTIONS or TF_BUILD turn masking on;
// --no-mask (and AZEXEC_MASK=false) print values as they are there;
// outside CI nothing is masked unless asked for.
func TestMaskDefaultInCI(t *testing.T) {
	t.Parallel()
	sc := newMaskScenario(t, "kv-"+randomHex(16))
	echo := []string{"--", "sh", "-c", `echo "$SECRET"`}
	for _, c := range []struct {
		name   string
		env    []string
		flags  []string
		masked bool
	}{
		{"CI=true", []string{"CI=true"}, nil, true},
		{"GITHUB_ACTIONS", []string{"GITHUB_ACTIONS=true"}, nil, true},
		{"TF_BUILD", []string{"TF_BUILD=True"}, nil, true},
		{"CI --no-mask", []string{"CI=true"}, []string{"--no-mask"}, false},
		{"CI AZEXEC_MASK=false", []string{"CI=true", "AZEXEC_MASK=false"}, nil, false},
		{"CI=false", []string{"CI=false"}, nil, false},
		{"no CI", nil, nil, false},
		{"AZEXEC_MASK=1", []string{"AZEXEC_MASK=1"}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runAzexecResult(t, setEnv(sc.env, c.env...), "", append(c.flags, echo...)...)
			want := sc.secret + "\n"
			if c.masked {
				want = maskMarker + "\n"
			}
			if r.code != 0 || r.stdout != want {
				t.Errorf("status %d stdout %q, want %q", r.code, r.stdout, want)
			}
		})
	}
}

// TestMaskShortValue: a value shorter than 6 bytes is left as it is, with a
// warning that names the variable and not the value.
func TestMaskShortValue(t *testing.T) {
	t.Parallel()
	sc := newMaskScenario(t, "Zq4x")
	r := runAzexecResult(t, sc.env, "", "--mask", "--", "sh", "-c", `echo "value $SECRET"`)
	if r.code != 0 || r.stdout != "value Zq4x\n" {
		t.Errorf("status %d stdout %q, want the short value as it is", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "too short to mask") || !strings.Contains(r.stderr, "SECRET") {
		t.Errorf("no warning naming SECRET:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "Zq4x") {
		t.Errorf("the warning shows the value:\n%s", r.stderr)
	}
}

// TestMaskSignals: under --mask azexec supervises: TERM (and the others
// supervise forwards) reach the child once, and its status is azexec's.
func TestMaskSignals(t *testing.T) {
	t.Parallel()
	sc := newMaskScenario(t, "kv-"+randomHex(16))
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		name := strings.TrimPrefix(signalName(sig), "SIG")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			script := `trap 'echo got-` + name + ` $SECRET; exit 0' ` + name + `; echo ready $$; while :; do sleep 0.05; done`
			r := signalChild(t, sc.env, true, []string{"--mask", "--", "sh", "-c", script}, sig)
			if r.code != 0 {
				t.Errorf("status %d, want 0\n%s", r.code, r.stderr)
			}
			if n := strings.Count(r.stdout, "got-"+name+" "+maskMarker+"\n"); n != 1 {
				t.Errorf("the trap ran %d times (masked), want once:\n%s", n, r.stdout)
			}
		})
	}
	r := signalChild(t, sc.env, true, []string{"--mask", "--", "sh", "-c", `echo ready $$; while :; do sleep 0.05; done`}, syscall.SIGTERM)
	if r.code != 143 {
		t.Errorf("untrapped TERM: status %d, want 143", r.code)
	}
}

// TestMaskPropertyEndToEnd: random values from Key Vault, written by the
// child as they are and encoded, among other output, cut at random points
// into separate writes (some a moment apart, so that azexec reads them
// apart): azexec prints exactly the other output with one marker for each
// value, byte for byte, and none of the values in any form.
func TestMaskPropertyEndToEnd(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	p := f.homeSP()
	host := f.vaultHost(t, "kv-prop")
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const valueChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
	const fillerChars = " !#&()*,;:<>[]{}|" // in no value and no form of one
	randomFrom := func(chars string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = chars[r.IntN(len(chars))]
		}
		return string(b)
	}
	env := kvEnv(f, p, consent(host))
	var values []string
	for i := range 3 {
		v := randomFrom(valueChars, 6+r.IntN(40))
		name := fmt.Sprintf("prop-%d", i)
		f.setSecret(t, "kv-prop", name, "", v)
		env = append(env, fmt.Sprintf("V%d=keyvault://%s/%s", i, host, name))
		values = append(values, v)
	}
	var text, want strings.Builder
	for range 20 {
		filler := randomFrom(fillerChars, 1+r.IntN(30))
		v := values[r.IntN(len(values))]
		form := []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v))}[r.IntN(3)]
		text.WriteString(filler + form)
		want.WriteString(filler + maskMarker)
	}
	text.WriteString("\n")
	want.WriteString("\n")
	var script strings.Builder
	s := text.String()
	for len(s) > 0 {
		n := min(len(s), 1+r.IntN(12))
		fmt.Fprintf(&script, "printf '%%s' '%s'\n", s[:n])
		if r.IntN(4) == 0 {
			script.WriteString("sleep 0.02\n")
		}
		s = s[n:]
	}
	res := runAzexecResult(t, env, "", "--mask", "--", "sh", "-c", script.String())
	if res.code != 0 || res.stdout != want.String() {
		t.Fatalf("status %d\ngot  %q\nwant %q\nvalues %q", res.code, res.stdout, want.String(), values)
	}
}

// TestMaskFileTemplateValues: the Key Vault values a --file template holds
// are masked too, should COMMAND print the file.
func TestMaskFileTemplateValues(t *testing.T) {
	t.Parallel()
	sc := newTemplateScenario(t)
	r := runAzexecResult(t, sc.env, "", "--mask", "--file", "CONF="+sc.tmpl, "--", "sh", "-c", `cat "$CONF"`)
	if r.code != 0 || !strings.Contains(r.stdout, maskMarker) {
		t.Fatalf("status %d, stdout without the marker:\n%s", r.code, r.stdout)
	}
	for _, k := range []string{"uri", "name", "short"} {
		if strings.Contains(r.stdout, sc.values[k]) {
			t.Errorf("template value %s shows:\n%s", k, r.stdout)
		}
	}
}
