package providers

import (
	"strings"
	"testing"
	"time"

	"github.com/azexec/azexec/internal/fail"
)

func TestParseGitCredential(t *testing.T) {
	cases := []struct {
		name, in string
		want     GitCredential
	}{
		{"git 2.39", "protocol=https\nhost=dev.azure.com\n\n",
			GitCredential{Protocol: "https", Host: "dev.azure.com"}},
		{"with path and user, no blank line", "protocol=https\nhost=dev.azure.com\npath=org/project/_git/repo\nusername=org",
			GitCredential{Protocol: "https", Host: "dev.azure.com", Path: "org/project/_git/repo", Username: "org"}},
		{"newer git, capabilities and wwwauth ignored", "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=dev.azure.com\nwwwauth[]=Bearer authorization_uri=https://login.microsoftonline.com/x\n\n",
			GitCredential{Protocol: "https", Host: "dev.azure.com"}},
		{"CRLF", "protocol=https\r\nhost=org.visualstudio.com\r\n\r\n",
			GitCredential{Protocol: "https", Host: "org.visualstudio.com"}},
		{"value with '='", "protocol=https\nhost=h\npath=a=b\n\n",
			GitCredential{Protocol: "https", Host: "h", Path: "a=b"}},
		{"input after the blank line is not read", "protocol=https\nhost=dev.azure.com\n\nhost=evil.example\n",
			GitCredential{Protocol: "https", Host: "dev.azure.com"}},
		{"url fills what is missing", "url=https://org@dev.azure.com/org/project/_git/repo\n\n",
			GitCredential{Protocol: "https", Host: "dev.azure.com", Path: "org/project/_git/repo", Username: "org"}},
		{"empty", "", GitCredential{}},
	}
	for _, tc := range cases {
		got, err := ParseGitCredential(strings.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	for _, bad := range []string{"protocol https\n", "=x\n", "host=a\x00b\n"} {
		if _, err := ParseGitCredential(strings.NewReader(bad)); fail.KindOf(err) != fail.Usage {
			t.Errorf("%q: err = %v, want a usage error", bad, err)
		}
	}
}

func TestIsAzureDevOps(t *testing.T) {
	yes := []GitCredential{
		{Protocol: "https", Host: "dev.azure.com"},
		{Protocol: "HTTPS", Host: "Dev.Azure.Com"},
		{Protocol: "https", Host: "dev.azure.com:443"},
		{Protocol: "https", Host: "dev.azure.com."},
		{Protocol: "https", Host: "contoso.visualstudio.com"},
	}
	no := []GitCredential{
		{Protocol: "http", Host: "dev.azure.com"},
		{Protocol: "https", Host: "dev.azure.com:8443"},
		{Protocol: "https", Host: "github.com"},
		{Protocol: "https", Host: "dev.azure.com.evil.example"},
		{Protocol: "https", Host: "evil-dev.azure.com"},
		{Protocol: "https", Host: "visualstudio.com"},
		{Protocol: "https", Host: ".visualstudio.com"},
		{Protocol: "https", Host: "a.b.visualstudio.com"},
		{Protocol: "https", Host: "visualstudio.com.evil.example"},
		{Protocol: "ssh", Host: "ssh.dev.azure.com"},
		{Protocol: "", Host: "dev.azure.com"},
	}
	for _, c := range yes {
		if !c.IsAzureDevOps() {
			t.Errorf("%+v: not Azure DevOps, want it to be", c)
		}
	}
	for _, c := range no {
		if c.IsAzureDevOps() {
			t.Errorf("%+v: Azure DevOps, want it not to be", c)
		}
	}
}

func TestGitAnswer(t *testing.T) {
	var b strings.Builder
	exp := time.Unix(1700000000, 0)
	if err := (GitAnswer{Username: "u", Password: "p=q", PasswordExpiry: exp}).Write(&b); err != nil {
		t.Fatal(err)
	}
	if want := "username=u\npassword=p=q\npassword_expiry_utc=1700000000\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := (GitAnswer{Username: "u", Password: "p\nusername=evil"}).Write(&b); err == nil || b.Len() != 0 {
		t.Errorf("a password with a newline: err %v, wrote %q; want an error and nothing written", err, b.String())
	}
	if strings.Contains(b.String(), "evil") {
		t.Error("the refused value leaked into the answer")
	}
}

// FuzzParseGitCredential feeds the parser what git (or anyone able to run
// the helper) might send: it must never panic, and whatever it accepts as
// Azure DevOps must be https on an Azure DevOps host.
func FuzzParseGitCredential(f *testing.F) {
	for _, s := range []string{
		"protocol=https\nhost=dev.azure.com\n\n",
		"protocol=https\nhost=org.visualstudio.com:443\npath=x\nusername=u\n",
		"url=https://u@dev.azure.com/o/p\n",
		"capability[]=authtype\nwwwauth[]=Basic realm=x\n\n",
		"protocol=https\r\nhost=dev.azure.com.\r\n",
		"=\n", "\x00", "host\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseGitCredential(strings.NewReader(in))
		if err != nil {
			return
		}
		if c.IsAzureDevOps() {
			host := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(c.Host), ":443"), ".")
			if !strings.EqualFold(c.Protocol, "https") ||
				host != "dev.azure.com" && !strings.HasSuffix(host, ".visualstudio.com") {
				t.Errorf("accepted %+v as Azure DevOps", c)
			}
		}
		for _, v := range []string{c.Protocol, c.Host, c.Path, c.Username} {
			if strings.ContainsAny(v, "\n\x00") {
				t.Errorf("a parsed value holds a newline or NUL: %q", v)
			}
		}
	})
}
