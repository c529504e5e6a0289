package inject

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/azexec/azexec/internal/fail"
	"github.com/azexec/azexec/internal/resolve"
)

// legacyEndpoints are the auth file's endpoint fields that have no
// counterpart in resolve.Cloud: services retired or never modelled by the
// new SDKs, which the readers of this format still expect to find.
var legacyEndpoints = map[string]struct{ graph, sql, gallery, management string }{
	"public": {"https://graph.windows.net/", "https://management.core.windows.net:8443/", "https://gallery.azure.com/", "https://management.core.windows.net/"},
	"china":  {"https://graph.chinacloudapi.cn/", "https://management.core.chinacloudapi.cn:8443/", "https://gallery.chinacloudapi.cn/", "https://management.core.chinacloudapi.cn/"},
	"usgov":  {"https://graph.windows.net/", "https://management.core.usgovcloudapi.net:8443/", "https://gallery.usgovcloudapi.net/", "https://management.core.usgovcloudapi.net/"},
}

// AuthFileContent builds the legacy SDK auth file for a service principal,
// filled for the identity's cloud. Any other identity is a usage error:
// azexec holds no credential it could write.
func AuthFileContent(id *resolve.Identity) ([]byte, error) {
	if id == nil || id.SP == nil {
		src := ""
		if id != nil {
			src = id.Source
		}
		return nil, fail.New(fail.Usage, "--inject auth-file needs a service principal, but the identity comes from %q", src).
			WithHint("use a service principal (env, auth-file or a profile), or --inject endpoint, which works for every identity")
	}
	legacy, ok := legacyEndpoints[id.Cloud.Name]
	if !ok {
		legacy = legacyEndpoints["public"]
	}
	sp := id.SP
	return (&resolve.AuthFile{
		ClientID:                       sp.ClientID,
		ClientSecret:                   sp.ClientSecret,
		ClientCertificate:              sp.CertificatePath,
		ClientCertificatePassword:      sp.CertificatePassword,
		SubscriptionID:                 id.Subscription,
		TenantID:                       sp.TenantID,
		ActiveDirectoryEndpointURL:     strings.TrimSuffix(id.Cloud.AuthorityHost, "/"),
		ResourceManagerEndpointURL:     id.Cloud.ResourceManager,
		ActiveDirectoryGraphResourceID: legacy.graph,
		SQLManagementEndpointURL:       legacy.sql,
		GalleryEndpointURL:             legacy.gallery,
		ManagementEndpointURL:          legacy.management,
	}).MarshalClear()
}

// CredentialFile is a file handed to the child that must not outlive it.
// On Linux it is an anonymous, sealed memfd passed as /dev/fd/N: it never
// exists on disk and the kernel frees it with the last process holding it,
// even when azexec is killed with SIGKILL. Elsewhere it is a 0600 file in a
// private 0700 directory, which Close removes, so azexec must supervise.
type CredentialFile struct {
	// File is the open file to pass in Command.ExtraFiles (memfd), or nil.
	File *os.File
	// Path is the file's path on disk when there is no memfd.
	Path string
	dir  string
}

// NeedsSupervision reports whether azexec must stay alive to remove the
// file after the child exits.
func (f *CredentialFile) NeedsSupervision() bool { return f.File == nil }

// Close releases azexec's hold on the file: the memfd's descriptor, or the
// private directory and everything in it.
func (f *CredentialFile) Close() error {
	if f.File != nil {
		return f.File.Close()
	}
	if f.dir != "" {
		return os.RemoveAll(f.dir)
	}
	return nil
}

// privateFile writes data to a 0600 file in a new 0700 directory, on
// tmpfs where the system has one, so the content is never on a disk.
func privateFile(name string, data []byte) (*CredentialFile, error) {
	dir, err := os.MkdirTemp(privateBase(), "azexec-")
	if err != nil {
		return nil, fail.New(fail.Usage, "cannot create a private directory for %s", name).Wrap(err)
	}
	cf := &CredentialFile{dir: dir, Path: filepath.Join(dir, name)}
	if err := os.Chmod(dir, 0o700); err != nil {
		cf.Close()
		return nil, fail.New(fail.Usage, "cannot protect the directory for %s", name).Wrap(err)
	}
	if err := os.WriteFile(cf.Path, data, 0o600); err != nil {
		cf.Close()
		return nil, fail.New(fail.Usage, "cannot write %s", name).Wrap(err)
	}
	return cf, nil
}

// privateBase prefers a per-user runtime directory (tmpfs on most Linux
// systems, /dev/shm otherwise), then the temporary directory.
func privateBase() string {
	for _, d := range []string{os.Getenv("XDG_RUNTIME_DIR"), "/dev/shm"} {
		if fi, err := os.Stat(d); d != "" && err == nil && fi.IsDir() {
			return d
		}
	}
	return os.TempDir()
}
