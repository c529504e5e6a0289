package providers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/azexec/azexec/internal/fail"
)

// AzureDevOpsResource is the application id of Azure DevOps: the audience
// of the Entra tokens it accepts as a git password (the "devops" alias).
const AzureDevOpsResource = "499b84ac-1321-427f-aa17-267ca6975798"

// maxGitInput bounds what a git credential helper reads: git sends a few
// short lines, and a helper must not grow without bound on garbage.
const maxGitInput = 1 << 20

// GitCredential is a credential description as git writes it to a helper's
// stdin (gitcredentials(7), "CUSTOM HELPERS"): `key=value` lines ended by a
// blank line or the end of input. Only the attributes azexec uses are kept;
// the rest (wwwauth[], capability[], state[], ...) are read and ignored, as
// the protocol asks of helpers that do not know them.
type GitCredential struct {
	Protocol string
	Host     string // may carry a port: dev.azure.com:443
	Path     string // sent only with credential.useHttpPath
	Username string
}

// ParseGitCredential reads one credential description from r. A `url`
// attribute fills protocol, host, path and username where they are not
// given, as git itself does. A line without '=', or a NUL byte anywhere, is
// an error: git would reject the same input.
func ParseGitCredential(r io.Reader) (GitCredential, error) {
	var c GitCredential
	var rawURL string
	br := bufio.NewReader(io.LimitReader(r, maxGitInput))
	for {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c, fail.New(fail.Usage, "reading the credential description: %v", err)
		}
		eof := err != nil
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			break // a blank line, or the end of input, ends the description
		}
		if strings.IndexByte(line, 0) >= 0 {
			return c, fail.New(fail.Usage, "invalid credential line: it holds a NUL byte")
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			return c, fail.New(fail.Usage, "invalid credential line %q", gitClip(line)).
				WithHint("git writes key=value lines; see gitcredentials(7)")
		}
		switch key {
		case "protocol":
			c.Protocol = value
		case "host":
			c.Host = value
		case "path":
			c.Path = value
		case "username":
			c.Username = value
		case "url":
			rawURL = value
		}
		if eof {
			break
		}
	}
	if rawURL != "" {
		if u, err := url.Parse(rawURL); err == nil {
			c.Protocol = gitOr(c.Protocol, u.Scheme)
			c.Host = gitOr(c.Host, u.Host)
			c.Path = gitOr(c.Path, strings.TrimPrefix(u.Path, "/"))
			c.Username = gitOr(c.Username, u.User.Username())
		}
		// A URL's escapes can carry what a line cannot.
		for _, v := range []string{c.Protocol, c.Host, c.Path, c.Username} {
			if strings.ContainsAny(v, "\n\x00") {
				return GitCredential{}, fail.New(fail.Usage, "invalid credential url: it holds a newline or NUL byte")
			}
		}
	}
	return c, nil
}

func gitOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// gitClip keeps an error message short when a line is garbage.
func gitClip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// IsAzureDevOps reports whether git asks for an Azure DevOps Services
// remote over https: dev.azure.com or an organization's *.visualstudio.com
// host, on the default port. Anything else (another host, plain http, where
// a bearer-grade token must never be sent) gets no answer from azexec, so
// git moves on to its next helper.
func (c GitCredential) IsAzureDevOps() bool {
	if !strings.EqualFold(c.Protocol, "https") {
		return false
	}
	host := strings.ToLower(c.Host)
	if h, port, ok := strings.Cut(host, ":"); ok {
		if port != "443" {
			return false
		}
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if host == "dev.azure.com" {
		return true
	}
	org, ok := strings.CutSuffix(host, ".visualstudio.com")
	return ok && org != "" && !strings.Contains(org, ".")
}

// GitAnswer is what a helper's `get` prints: the attributes git fills in.
type GitAnswer struct {
	Username string
	Password string
	// PasswordExpiry, when not zero, is sent as password_expiry_utc (git
	// 2.41 and later drop an expired credential instead of using it; older
	// versions ignore the attribute).
	PasswordExpiry time.Time
}

// Write prints a in git's format. A value holding a newline or NUL would
// inject attributes, so it is refused instead of written.
func (a GitAnswer) Write(w io.Writer) error {
	var b strings.Builder
	put := func(k, v string) error {
		if strings.ContainsAny(v, "\n\x00") {
			return fail.New(fail.Fetch, "refusing to answer git: the %s holds a newline or NUL byte", k)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
		return nil
	}
	if err := put("username", a.Username); err != nil {
		return err
	}
	if err := put("password", a.Password); err != nil {
		return err
	}
	if !a.PasswordExpiry.IsZero() {
		_ = put("password_expiry_utc", strconv.FormatInt(a.PasswordExpiry.Unix(), 10))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
