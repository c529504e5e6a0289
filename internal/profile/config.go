package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/azexec/azexec/internal/fail"
)

// Profile is the non-secret half of a service principal azexec keeps for a
// developer. Everything here may be printed and backed up; the secret lives
// only in the keyring named by Backend.
type Profile struct {
	Name         string `json:"-"`
	TenantID     string `json:"tenant"`
	ClientID     string `json:"clientId"`
	Subscription string `json:"subscription,omitempty"`
	Cloud        string `json:"cloud,omitempty"`
	// CertificatePath is set for certificate authentication: the keyring
	// then holds the certificate's password instead of a client secret.
	CertificatePath string `json:"certificate,omitempty"`
	// Backend is the keyring backend that holds the secret.
	Backend string `json:"keyring"`
	// Inject and EnvFiles are defaults applied when the profile is used
	// and the command line gives none.
	Inject   string   `json:"inject,omitempty"`
	EnvFiles []string `json:"envFiles,omitempty"`
}

// SecretKind names what the keyring holds for p, for messages and prompts.
func (p Profile) SecretKind() string {
	if p.CertificatePath != "" {
		return "certificate password"
	}
	return "client secret"
}

// CheckEnvFiles refuses a profile whose default env files are not named
// by absolute paths. azexec profile add stores them absolute; an older
// azexec stored them as typed, and a relative one would be read from
// whatever directory azexec runs in: an untrusted clone, where git calls
// azexec as its credential helper, could then supply the variables.
func (p Profile) CheckEnvFiles() error {
	for _, f := range p.EnvFiles {
		if !filepath.IsAbs(f) {
			return fail.New(fail.Usage, "profile %q names its default env file %q by a relative path", p.Name, f).
				WithHint("a relative path is read from whatever directory azexec runs in; add the profile again "+
					"(azexec profile remove %s, then azexec profile add %s ... --default-env-file FILE), which stores the absolute path", p.Name, p.Name)
		}
	}
	return nil
}

// configFile is the JSON layout of config.json.
type configFile struct {
	Profiles map[string]Profile `json:"profiles"`
}

// ConfigName is the config file's name inside azexec's config directory.
const ConfigName = "config.json"

// DefaultDir is azexec's directory under the user's config directory
// ($XDG_CONFIG_HOME or ~/.config on Linux, ~/Library/Application Support on
// macOS, %AppData% on Windows).
func DefaultDir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fail.New(fail.Usage, "cannot find the user's config directory: %s", err).
			WithHint("set HOME (or XDG_CONFIG_HOME)")
	}
	return filepath.Join(base, "azexec"), nil
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName refuses profile names that would not be safe as keyring entry
// names and file names on every platform.
func CheckName(name string) error {
	if !validName.MatchString(name) {
		return fail.New(fail.Usage, "invalid profile name %q", name).
			WithHint("use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

// readConfig reads the config file; a missing file is an empty config.
func readConfig(path string) (*configFile, error) {
	c := &configFile{Profiles: map[string]Profile{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fail.New(fail.Usage, "cannot read %q: %s", path, errText(err)).Wrap(err)
	}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fail.New(fail.Usage, "config file %q is not valid JSON: %s", path, err).
			WithHint("fix or remove the file; it holds no secret, but profiles listed there are lost with it")
	}
	if c.Profiles == nil {
		c.Profiles = map[string]Profile{}
	}
	for name, p := range c.Profiles {
		p.Name = name
		c.Profiles[name] = p
	}
	return c, nil
}

// writeConfig replaces the config file atomically (writeFileAtomic), so
// that a crash or a concurrent reader never sees half a config. Callers
// that read, change and write it hold the store's lock (Store.lock).
func writeConfig(path string, c *configFile) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return configWriteError(path, err)
	}
	if err := writeFileAtomic(path, ".config-*.json", append(data, '\n')); err != nil {
		return configWriteError(path, err)
	}
	return nil
}

func configWriteError(path string, err error) error {
	return fail.New(fail.Usage, "cannot write config file %q: %s", path, errText(err)).Wrap(err)
}

// sortedProfiles returns the profiles of c ordered by name.
func (c *configFile) sortedProfiles() []Profile {
	out := make([]Profile, 0, len(c.Profiles))
	for _, p := range c.Profiles {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// errText is an error's text without the path of an *fs.PathError, which
// the caller quotes itself.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return fmt.Sprint(err)
}
