package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// TestMain lets the test binary act as the command, for TestSignal.
func TestMain(m *testing.M) {
	if os.Getenv("FAKEAZURE_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func readEnv(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
		}
		env[k] = v
	}
	return env
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-dir", dir, "-vault", "kv-one", "-secret", "kv-two/greeting=hello world's",
			"-subscription", "11111111-0000-4000-8000-000000000000=demo"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for stdout.String() != "ready\n" {
		if time.Now().After(deadline) {
			t.Fatalf("not ready; stderr: %s", stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("exited %d: %s", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	env := readEnv(t, filepath.Join(dir, "fake.env"))
	for _, k := range []string{"AZURE_AUTHORITY_HOST", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "FAKEAZURE_URL",
		"FAKEAZURE_MI_ENDPOINT", "FAKEAZURE_MI_HEADER", "FAKEAZURE_VAULT_KV_ONE", "FAKEAZURE_VAULT_KV_TWO"} {
		if env[k] == "" {
			t.Errorf("fake.env lacks %s", k)
		}
	}
	if env["SSL_CERT_FILE"] != filepath.Join(dir, "ca.pem") || env["AZURE_AUTHORITY_HOST"] != env["FAKEAZURE_URL"]+"/" ||
		!strings.HasPrefix(env["FAKEAZURE_URL"], "https://127.0.0.1:") {
		t.Errorf("env %v", env)
	}

	// A client configured only from fake.env reads the secret.
	pem, err := os.ReadFile(env["SSL_CERT_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: env["AZURE_AUTHORITY_HOST"]},
		Transport: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	cred, err := azidentity.NewClientSecretCredential(env["FAKEAZURE_TENANT_ID"], env["FAKEAZURE_CLIENT_ID"], env["FAKEAZURE_CLIENT_SECRET"],
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	client, err := azsecrets.NewClient(env["FAKEAZURE_VAULT_KV_TWO"], cred, &azsecrets.ClientOptions{ClientOptions: opts, DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.GetSecret(context.Background(), "greeting", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Value != "hello world's" {
		t.Errorf("secret %q", *resp.Value)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

func TestBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), nil, &out, &errb); code != 2 {
		t.Errorf("no -dir: exit %d", code)
	}
	if code := run(context.Background(), []string{"-dir", t.TempDir(), "-secret", "novalue"}, &out, &errb); code != 1 {
		t.Errorf("bad -secret: exit %d", code)
	}
	if code := run(context.Background(), []string{"-dir", t.TempDir(), "-addr", "0.0.0.0:0"}, &out, &errb); code != 1 {
		t.Errorf("non-loopback -addr: exit %d", code)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out.String())
	}
}

func TestSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-dir", dir)
		cmd.Env = append(os.Environ(), "FAKEAZURE_TEST_RUN_MAIN=1")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			_ = cmd.Process.Kill()
			t.Fatalf("first line %q %v; stderr %s", line, err, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "fake.env")); err != nil {
			t.Error(err)
		}
		_ = cmd.Process.Signal(sig)
		errc := make(chan error, 1)
		go func() { errc <- cmd.Wait() }()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("%v: %v; stderr %s", sig, err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%v: did not exit", sig)
		}
	}
}
