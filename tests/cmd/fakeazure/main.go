// Command fakeazure runs the fake Azure of package
// github.com/azexec/azexec/tests/fakeazure as a standalone process, for
// demos and for tests written in other languages.
//
// It serves on 127.0.0.1 only, writes ca.pem and fake.env into -dir, prints
// "ready" on stdout once serving, and exits cleanly on SIGINT or SIGTERM.
// fake.env holds KEY=VALUE lines for a shell (`set -a; . DIR/fake.env;
// set +a`) or an env file:
//
//	AZURE_AUTHORITY_HOST   the fake's URL with a trailing slash
//	SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE   the CA file
//	FAKEAZURE_URL          the fake's URL
//	FAKEAZURE_MI_ENDPOINT, FAKEAZURE_MI_HEADER   App Service managed identity
//	FAKEAZURE_MI_CLIENT_ID the managed identity's client id
//	FAKEAZURE_TENANT_ID, FAKEAZURE_CLIENT_ID, FAKEAZURE_CLIENT_SECRET   the service principal
//	FAKEAZURE_VAULT_<NAME> each vault's URL (NAME upper-cased, other characters as _)
//
// Usage:
//
//	fakeazure -dir DIR [-tenant T] [-client-id C] [-client-secret S]
//	          [-vault NAME]... [-secret VAULT/NAME=VALUE]... [-subscription ID=NAME]...
//	          [-addr 127.0.0.1:PORT] [-latency D]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/azexec/azexec/tests/fakeazure"
)

// Demo identity registered by default. Made-up values.
const (
	defaultClientID     = "d3b07384-d9a0-4c9b-8f1e-2a6c5e4f3b21"
	defaultClientSecret = "fakeazure-demo-secret"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// run serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakeazure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory for ca.pem and fake.env (required)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	tenant := fs.String("tenant", fakeazure.DefaultTenant, "tenant of the service principal, managed identity and vaults")
	clientID := fs.String("client-id", defaultClientID, "client id of the service principal to register")
	clientSecret := fs.String("client-secret", defaultClientSecret, "client secret of the service principal")
	latency := fs.Duration("latency", 0, "latency added to every request")
	var vaults, secrets, subs multi
	fs.Var(&vaults, "vault", "vault `NAME` to create (repeatable)")
	fs.Var(&secrets, "secret", "secret `VAULT/NAME=VALUE` to set, creating the vault if needed (repeatable)")
	fs.Var(&subs, "subscription", "subscription `ID=DISPLAYNAME` visible to the service principal (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "fakeazure: error: "+format+"\n", a...)
		return 1
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: fakeazure -dir DIR [flags]")
		fs.PrintDefaults()
		return 2
	}

	srv, err := fakeazure.Start(fakeazure.Options{Dir: *dir, Addr: *addr, Tenant: *tenant, Latency: *latency})
	if err != nil {
		return fail("%v", err)
	}
	defer srv.Close()
	srv.AddServicePrincipal(*tenant, *clientID, *clientSecret)

	env := [][2]string{
		{"AZURE_AUTHORITY_HOST", srv.URL + "/"},
		{"SSL_CERT_FILE", srv.CAFile},
		{"NODE_EXTRA_CA_CERTS", srv.CAFile},
		{"REQUESTS_CA_BUNDLE", srv.CAFile},
		{"FAKEAZURE_URL", srv.URL},
		{"FAKEAZURE_MI_ENDPOINT", srv.MIEndpoint()},
		{"FAKEAZURE_MI_HEADER", srv.MIHeader},
		{"FAKEAZURE_MI_CLIENT_ID", srv.MIClientID()},
		{"FAKEAZURE_TENANT_ID", *tenant},
		{"FAKEAZURE_CLIENT_ID", *clientID},
		{"FAKEAZURE_CLIENT_SECRET", *clientSecret},
	}
	addVault := func(name string) error {
		if srv.VaultURL(name) != "" {
			return nil
		}
		u, err := srv.AddVault(name)
		if err != nil {
			return err
		}
		env = append(env, [2]string{"FAKEAZURE_VAULT_" + envName(name), u})
		return nil
	}
	for _, v := range vaults {
		if err := addVault(v); err != nil {
			return fail("%v", err)
		}
	}
	for _, s := range secrets {
		vault, rest, ok1 := strings.Cut(s, "/")
		name, value, ok2 := strings.Cut(rest, "=")
		if !ok1 || !ok2 || vault == "" || name == "" {
			return fail("-secret wants VAULT/NAME=VALUE, got %q", redact(s))
		}
		if err := addVault(vault); err != nil {
			return fail("%v", err)
		}
		if err := srv.SetSecret(vault, name, "", value); err != nil {
			return fail("%v", err)
		}
	}
	var list []fakeazure.Subscription
	for _, s := range subs {
		id, name, _ := strings.Cut(s, "=")
		if id == "" {
			return fail("-subscription wants ID=DISPLAYNAME, got %q", s)
		}
		list = append(list, fakeazure.Subscription{ID: id, DisplayName: name, TenantID: *tenant})
	}
	if len(list) > 0 {
		srv.SetSubscriptions(fakeazure.ObjectID(*tenant, *clientID), list...)
	}

	var b strings.Builder
	for _, kv := range env {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	envFile := filepath.Join(*dir, "fake.env")
	if err := writeFileAtomic(envFile, []byte(b.String())); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stderr, "fakeazure: serving %s; environment in %s\n", srv.URL, envFile)
	fmt.Fprintln(stdout, "ready")

	<-ctx.Done()
	fmt.Fprintln(stderr, "fakeazure: stopping")
	return 0
}

var notEnvChar = regexp.MustCompile(`[^A-Z0-9_]`)

// envName turns a vault name into the suffix of its variable.
func envName(vault string) string {
	return notEnvChar.ReplaceAllString(strings.ToUpper(vault), "_")
}

var plainShell = regexp.MustCompile(`^[A-Za-z0-9_./:@%+,=-]*$`)

// shellQuote leaves plain values alone (so the file also reads as an env
// file) and single-quotes the others.
func shellQuote(v string) string {
	if plainShell.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// redact hides the value part of VAULT/NAME=VALUE.
func redact(s string) string {
	if k, _, ok := strings.Cut(s, "="); ok {
		return k + "=…"
	}
	return s
}

// writeFileAtomic writes through a temporary file and a rename, so a
// reader polling for the file never sees it half written.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".fake.env-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), name)
}
