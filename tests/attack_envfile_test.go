package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azexec/azexec/tests/fakeazure"
)

// Attack tests for the trust boundary (issue 9, item 1): a repository's env
// file is untrusted. Whatever it sets, azexec must not send a credential
// that came from the shell, the keyring (a profile), az, azd or a trusted
// auth file anywhere but the authority that source chose, and must not read
// a file the env file names and send it.
//
// The attacker is a second fake Azure on another loopback address whose CA
// azexec trusts, so that a request sent there would succeed; the test
// fails if that server sees any request at all.

// attacker starts the attacker's server and returns it with a CA bundle
// trusting both it and f, for SSL_CERT_FILE.
func attacker(t *testing.T, f *fake) (*fakeazure.Server, string) {
	t.Helper()
	atk, err := fakeazure.Start(fakeazure.Options{Dir: filepath.Join(f.dir, "attacker"), Addr: "127.0.0.2:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(atk.Close)
	bundle := f.path("both-cas.pem")
	if err := os.WriteFile(bundle, append(append([]byte{}, f.CAPEM...), atk.CAPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	return atk, bundle
}

// sshKey writes a file standing for the developer's SSH private key.
func sshKey(t *testing.T, f *fake) (path, content string) {
	t.Helper()
	content = "-----BEGIN OPENSSH PRIVATE KEY-----\nssh-" + randomHex(24) + "\n-----END OPENSSH PRIVATE KEY-----\n"
	path = f.path("id_ed25519")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, content
}

func TestAttackEnvFileRedirects(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	atk, bundle := attacker(t, f)
	key, keyContent := sshKey(t, f)
	atkSP := sp{tenant: newUUID(), client: newUUID(), secret: "atk~" + randomHex(16)}
	atk.AddServicePrincipal(atkSP.tenant, atkSP.client, atkSP.secret)
	atkAuthFile := f.path("atk-auth.json")
	if err := os.WriteFile(atkAuthFile, []byte(`{"clientId":"`+atkSP.client+`","clientSecret":"`+atkSP.secret+
		`","tenantId":"`+atkSP.tenant+`","activeDirectoryEndpointUrl":"`+atk.URL+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	// Each attack is one env file a pull request could commit.
	attacks := map[string]string{
		"authority":         "APP=demo\nAZURE_AUTHORITY_HOST=" + atk.URL + "/\n",
		"authority lower":   "AZURE_AUTHORITY_HOST=" + atk.URL + "/\nAZURE_TENANT_ID=" + atkSP.tenant + "\n",
		"ssh key as token":  "AZURE_TENANT_ID=" + atkSP.tenant + "\nAZURE_CLIENT_ID=" + atkSP.client + "\nAZURE_AUTHORITY_HOST=" + atk.URL + "/\nAZURE_FEDERATED_TOKEN_FILE=" + key + "\n",
		"federated file":    "AZURE_FEDERATED_TOKEN_FILE=" + key + "\n",
		"certificate path":  "AZURE_CLIENT_CERTIFICATE_PATH=" + key + "\n",
		"auth file":         "AZURE_AUTH_LOCATION=" + atkAuthFile + "\n",
		"allowed tenants":   "AZURE_ADDITIONALLY_ALLOWED_TENANTS=*\n",
		"identity endpoint": "IDENTITY_ENDPOINT=" + atk.URL + "/msi/token\nIDENTITY_HEADER=x\n",
		"msi endpoint":      "MSI_ENDPOINT=" + atk.URL + "/msi/token\n",
		"https proxy":       "HTTPS_PROXY=http://127.0.0.2:9\n",
		"http proxy lower":  "http_proxy=http://127.0.0.2:9\n",
		"no proxy":          "NO_PROXY=*\n",
		"az config dir":     "AZURE_CONFIG_DIR=" + f.path("atk-azure") + "\n",
		"azd config dir":    "AZD_CONFIG_DIR=" + f.path("atk-azd") + "\n",
	}

	// Each victim is an identity from a trusted source, with the flags
	// and environment that select it.
	victimSP := f.newSP()
	profileSP := f.profileSP()
	profileHome := f.profileEnv()
	f.addProfile(t, profileHome, "dev", profileSP, "--keyring-backend", "file")
	authFile := f.writeAuthFile(t, "auth.json", f.newSP(), newUUID(), false)
	f.writeFakeAz(t, newUUID())
	f.writeFakeAzd(t)
	victims := []struct {
		name    string
		env     []string
		args    []string
		secrets []string
	}{
		{"shell service principal", f.env(append(victimSP.env(), "SSL_CERT_FILE="+bundle)...), nil, []string{victimSP.secret}},
		{"profile", setEnv(profileHome, "SSL_CERT_FILE="+bundle), []string{"--profile", "dev"}, []string{profileSP.secret, testPassphrase}},
		{"trusted auth file", f.env("SSL_CERT_FILE=" + bundle), []string{"--auth-file", authFile}, nil},
		{"az login", f.env("SSL_CERT_FILE=" + bundle), []string{"--identity", "cli"}, nil},
		{"azd login", f.env("SSL_CERT_FILE=" + bundle), []string{"--identity", "azd"}, nil},
		{"auto with az", f.env("SSL_CERT_FILE=" + bundle), nil, nil},
	}
	for name, content := range attacks {
		file := f.writeFile(t, "attack-"+strings.ReplaceAll(name, " ", "-")+".env", content)
		for _, v := range victims {
			for _, cmd := range [][]string{
				wrap(nil, "true"),
				{"token", "arm"},
			} {
				args := append(append([]string{"--log-level", "trace", "--env-file", file}, v.args...), cmd...)
				stdout, stderr, code := runAzexec(t, v.env, "", args...)
				if code != 2 {
					t.Errorf("%s / %s / %v: status %d, want 2 (refused)\n%s", name, v.name, cmd, code, clip(stderr))
					continue
				}
				line := requireLine(t, stderr, "azexec: error: ")
				if !strings.Contains(line, file) || !strings.Contains(line, "line ") {
					t.Errorf("%s / %s: error does not name the file and line: %q", name, v.name, line)
				}
				for _, s := range append(v.secrets, keyContent, strings.Split(keyContent, "\n")[1]) {
					if s != "" && strings.Contains(stdout+stderr, s) {
						t.Errorf("%s / %s: output holds a secret", name, v.name)
					}
				}
			}
		}
	}
	if reqs := atk.Requests(); len(reqs) > 0 {
		t.Errorf("the attacker's server received %d requests, first %+v", len(reqs), reqs[0])
	}
}

// TestAttackEnvFileWholeServicePrincipal: a file that holds a service
// principal with its own secret may say where that secret goes, and then
// only that secret goes there: the developer's own service principal in
// the shell is not used and never sent.
func TestAttackEnvFileWholeServicePrincipal(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	atk, bundle := attacker(t, f)
	own := sp{tenant: newUUID(), client: newUUID(), secret: "own~" + randomHex(16)}
	atk.AddServicePrincipal(own.tenant, own.client, own.secret)
	file := f.writeFile(t, "whole.env", strings.Join(append(own.env(), "AZURE_AUTHORITY_HOST="+atk.URL+"/"), "\n")+"\n")
	dev := f.newSP()
	env := f.env(append(dev.env(), "SSL_CERT_FILE="+bundle)...)
	got := whoami(t, env, "--env-file", file)
	if got.ClientID != own.client || got.TenantID != own.tenant {
		t.Fatalf("whoami = %+v, want the file's service principal", got)
	}
	for _, r := range atk.Requests() {
		if !strings.Contains(r.Path, own.tenant) {
			t.Errorf("the file's authority got a request outside the file's own tenant: %+v", r)
		}
	}
	for _, r := range f.Requests() {
		if r.Kind == fakeazure.KindToken && strings.Contains(r.Path, dev.tenant) {
			t.Errorf("the shell's service principal was used: %+v", r)
		}
	}

	// Half a service principal in each of two files: the committed one's
	// ids would be joined to the other's secret. Refused.
	ids := f.writeFile(t, "ids.env", "AZURE_TENANT_ID="+own.tenant+"\nAZURE_CLIENT_ID="+own.client+"\n")
	secret := f.writeFile(t, "secret.env", "AZURE_CLIENT_SECRET="+own.secret+"\n")
	_, stderr, code := runAzexec(t, env, "", "--env-file", ids, "--env-file", secret, "whoami")
	if line := requireLine(t, stderr, "azexec: error: "); code != 2 || !strings.Contains(line, ids) || !strings.Contains(line, secret) {
		t.Errorf("split service principal: status %d, error %q; want 2 naming both files", code, line)
	}
	if strings.Contains(stderr, own.secret) {
		t.Error("the secret was printed")
	}
}

// TestAttackEnvFileSPKeepsOtherCredentials: a file may bring a whole
// service principal and its authority, but then the child must hold no
// other credential that authority could take (the machine's managed
// identity header, the pod's federated token file).
func TestAttackEnvFileSPKeepsOtherCredentials(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	atk, bundle := attacker(t, f)
	own := sp{tenant: newUUID(), client: newUUID(), secret: "own~" + randomHex(16)}
	atk.AddServicePrincipal(own.tenant, own.client, own.secret)
	file := f.writeFile(t, "whole.env", strings.Join(append(own.env(), "AZURE_AUTHORITY_HOST="+atk.URL+"/"), "\n")+"\n")
	saToken, _ := sshKey(t, f)
	env := f.env("SSL_CERT_FILE="+bundle, "IDENTITY_ENDPOINT="+f.URL+"/msi/token", "IDENTITY_HEADER="+f.MIHeader,
		"MSI_SECRET=msi-"+randomHex(8), "AZURE_FEDERATED_TOKEN_FILE="+saToken)
	for _, mode := range [][]string{nil, {"--inject", "env"}} {
		got := childEnv(t, env, append(append([]string{"--env-file", file}, mode...), "--subscription", newUUID())...)
		if got["AZURE_CLIENT_SECRET"] != own.secret || got["AZURE_AUTHORITY_HOST"] != atk.URL+"/" {
			t.Fatalf("%v: the file's service principal did not reach the child", mode)
		}
		for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_SECRET", "AZURE_FEDERATED_TOKEN_FILE"} {
			if _, ok := got[k]; ok {
				t.Errorf("%v: the child holds %s next to the file's authority", mode, k)
			}
		}
	}
}

// TestAttackEnvFileNestedAzexec: an azexec run inside COMMAND (a Makefile
// recipe) must not take what the outer run's env file set for its own
// trusted environment: the developer's profile secret must not go to the
// authority the outer file named.
func TestAttackEnvFileNestedAzexec(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	atk, bundle := attacker(t, f)
	own := sp{tenant: newUUID(), client: newUUID(), secret: "own~" + randomHex(16)}
	atk.AddServicePrincipal(own.tenant, own.client, own.secret)
	file := f.writeFile(t, "whole.env", strings.Join(append(own.env(), "AZURE_AUTHORITY_HOST="+atk.URL+"/"), "\n")+"\n")
	dev := f.profileSP()
	env := setEnv(f.profileEnv(), "SSL_CERT_FILE="+bundle)
	f.addProfile(t, env, "dev", dev, "--keyring-backend", "file")
	inner := "'" + azexecBin + "' --profile dev -- true; echo inner=$?"
	stdout, stderr, code := runAzexec(t, env, "", "--env-file", file, "--", "sh", "-c", inner)
	if code != 0 || !strings.Contains(stdout, "inner=2") {
		t.Errorf("status %d, child printed %q; want the inner azexec refused (2)\n%s", code, stdout, clip(stderr))
	}
	if !strings.Contains(stderr, "AZURE_AUTHORITY_HOST, set by an env file of the azexec that started this one") {
		t.Errorf("the inner refusal does not say where the value came from:\n%s", clip(stderr))
	}
	for _, r := range atk.Requests() {
		if !strings.Contains(r.Path, own.tenant) {
			t.Errorf("the outer file's authority got a request for another tenant: %+v", r)
		}
	}
	if strings.Contains(stdout+stderr, dev.secret) {
		t.Error("the profile's secret was printed")
	}
}

// TestAttackNestedAzConfigDir: an outer azexec's env file that names az's
// configuration directory (a committed login of someone else's) must not
// steer the az an inner azexec runs, whose token cache would then keep that
// login's token under the key of the developer's own.
func TestAttackNestedAzConfigDir(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	az := f.writeFakeAz(t, newUUID())
	env := f.env()
	// What an outer azexec gives its child when its env file set the
	// variable: the value, and the mark that it came from a file.
	nested := setEnv(env, "AZURE_CONFIG_DIR="+f.path("atk-azure"), "AZEXEC_UNTRUSTED_VARS=AZURE_CONFIG_DIR")
	_, stderr, code := runAzexec(t, nested, "", "--identity", "cli", "--", "true")
	if code != 2 || !strings.Contains(stderr, "AZURE_CONFIG_DIR, set by an env file of the azexec that started this one") {
		t.Errorf("status %d, want 2 naming the inherited AZURE_CONFIG_DIR\n%s", code, clip(stderr))
	}
	if az.ran() {
		t.Error("az ran under an env file's configuration directory")
	}
}
