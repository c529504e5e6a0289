package providers

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/azexec/azexec/internal/atomicfile"
	"github.com/azexec/azexec/internal/fail"
)

// AKSServerID is the application id of the AKS server that Entra ID
// integrated clusters accept tokens for (the `aks` alias).
const AKSServerID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// KubeconfigOptions say what ConvertKubeconfig changes.
type KubeconfigOptions struct {
	// Context, when set, limits the conversion to the user of that context.
	Context string
	// ServerID, when set, replaces the server id found in each user.
	ServerID string
	// Command is the program kubectl runs: "azexec" (found on PATH) or a
	// path.
	Command string
}

// ConvertedUser is one kubeconfig user rewritten to run azexec.
type ConvertedUser struct {
	Name     string
	ServerID string
}

// kubeconfigInstallHint is what kubectl prints when the command is missing.
const kubeconfigInstallHint = "azexec is not on PATH: go install github.com/azexec/azexec/cmd/azexec@latest\n"

// ConvertKubeconfig rewrites the users of a kubeconfig that sign in to
// Entra ID (the legacy `azure` auth provider, or an exec plugin running
// kubelogin or azexec) to run `azexec token --resource SERVER_ID --format
// exec-credential`, as `kubelogin convert-kubeconfig` does for kubelogin.
// Everything else (clusters, contexts, other users, comments, key order)
// is kept. The server id comes from the user (the auth provider's
// apiserver-id, kubelogin's --server-id, azexec's --resource) unless
// o.ServerID is set. It never reads or prints a credential: a kubeconfig
// may hold client keys and tokens, which are passed through untouched.
func ConvertKubeconfig(data []byte, o KubeconfigOptions) ([]byte, []ConvertedUser, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fail.New(fail.Usage, "not a kubeconfig: %s", yamlErrorLine(err)).
			WithHint("give the file kubectl reads (--kubeconfig FILE, KUBECONFIG, ~/.kube/config)")
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, fail.New(fail.Usage, "not a kubeconfig: the file holds no mapping").
			WithHint("give the file kubectl reads (--kubeconfig FILE, KUBECONFIG, ~/.kube/config)")
	}
	root := doc.Content[0]
	target := ""
	if o.Context != "" {
		ctx := namedEntry(mapValue(root, "contexts"), o.Context)
		if ctx == nil {
			return nil, nil, fail.New(fail.Usage, "no context named %q in the kubeconfig", o.Context).
				WithHint("kubectl config get-contexts lists them")
		}
		if target = scalar(mapValue(mapValue(ctx, "context"), "user")); target == "" {
			return nil, nil, fail.New(fail.Usage, "context %q names no user", o.Context)
		}
	}
	var done []ConvertedUser
	users := mapValue(root, "users")
	if users != nil && users.Kind == yaml.SequenceNode {
		for _, u := range users.Content {
			name := scalar(mapValue(u, "name"))
			info := mapValue(u, "user")
			if (target != "" && name != target) || info == nil || info.Kind != yaml.MappingNode {
				continue
			}
			serverID, ok := entraServerID(info)
			if !ok {
				continue
			}
			if o.ServerID != "" {
				serverID = o.ServerID
			}
			if serverID == "" {
				return nil, nil, fail.New(fail.Usage, "user %q signs in to Entra ID but names no server id", name).
					WithHint("give it with --server-id (AKS with managed Entra ID: %s)", AKSServerID)
			}
			setExec(info, execNode(o.Command, serverID, scalar(mapValue(mapValue(info, "exec"), "installHint"))))
			done = append(done, ConvertedUser{Name: name, ServerID: serverID})
		}
	}
	if target != "" && len(done) == 0 {
		return nil, nil, fail.New(fail.Usage, "user %q of context %q does not sign in to Entra ID (no azure auth provider, kubelogin or azexec)", target, o.Context).
			WithHint("nothing to convert; a client certificate or static token user stays as it is")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, nil, fail.New(fail.Usage, "cannot write the kubeconfig: %v", err)
	}
	return buf.Bytes(), done, nil
}

// entraServerID reports whether a user signs in to Entra ID, and the
// server id it asks tokens for.
func entraServerID(info *yaml.Node) (string, bool) {
	if ap := mapValue(info, "auth-provider"); ap != nil && scalar(mapValue(ap, "name")) == "azure" {
		return scalar(mapValue(mapValue(ap, "config"), "apiserver-id")), true
	}
	ex := mapValue(info, "exec")
	if ex == nil {
		return "", false
	}
	cmd := strings.ToLower(filepath.Base(scalar(mapValue(ex, "command"))))
	args := mapValue(ex, "args")
	switch {
	case strings.Contains(cmd, "kubelogin"):
		return argAfter(args, "--server-id"), true
	case cmd == "azexec" || strings.HasPrefix(cmd, "azexec."):
		return argAfter(args, "--resource"), true
	}
	return "", false
}

// execNode is the exec block kubectl runs.
func execNode(command, serverID, installHint string) *yaml.Node {
	if command == "" {
		command = "azexec"
	}
	if installHint == "" {
		installHint = kubeconfigInstallHint
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
	// v1beta1, as kubelogin writes: every kubectl since 1.11 runs it, and
	// azexec answers in the version KUBERNETES_EXEC_INFO asks for.
	add("apiVersion", str(ExecCredentialV1beta1))
	add("command", str(command))
	args := &yaml.Node{Kind: yaml.SequenceNode}
	for _, a := range []string{"token", "--resource", serverID, "--format", "exec-credential"} {
		args.Content = append(args.Content, str(a))
	}
	add("args", args)
	add("interactiveMode", str("Never"))
	add("provideClusterInfo", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"})
	add("installHint", str(installHint))
	return m
}

// setExec replaces the user's auth provider and exec block with ex,
// keeping its other keys (and their order).
func setExec(info, ex *yaml.Node) {
	var kept []*yaml.Node
	for i := 0; i+1 < len(info.Content); i += 2 {
		switch info.Content[i].Value {
		case "auth-provider", "exec":
			continue
		}
		kept = append(kept, info.Content[i], info.Content[i+1])
	}
	info.Content = append(kept, str("exec"), ex)
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// namedEntry returns the entry of a kubeconfig list whose name is name.
func namedEntry(list *yaml.Node, name string) *yaml.Node {
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	for _, e := range list.Content {
		if scalar(mapValue(e, "name")) == name {
			return e
		}
	}
	return nil
}

// argAfter returns the argument after flag in an args sequence, also in
// the --flag=value form.
func argAfter(args *yaml.Node, flag string) string {
	if args == nil || args.Kind != yaml.SequenceNode {
		return ""
	}
	for i, a := range args.Content {
		if a.Value == flag && i+1 < len(args.Content) {
			return args.Content[i+1].Value
		}
		if v, ok := strings.CutPrefix(a.Value, flag+"="); ok {
			return v
		}
	}
	return ""
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// yamlErrorLine is the parser's message without the content it may quote.
func yamlErrorLine(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		end := i + 5
		for end < len(msg) && msg[end] >= '0' && msg[end] <= '9' {
			end++
		}
		return "YAML syntax error at " + msg[i:end]
	}
	return "YAML syntax error"
}

// KubeconfigBackupSuffix is appended to a kubeconfig's name for the copy
// kept before it is rewritten in place.
const KubeconfigBackupSuffix = ".azexec-backup"

// ConvertKubeconfigFile converts the kubeconfig at path in place: the
// original is copied to path+KubeconfigBackupSuffix first (mode 0600, as it
// may hold client keys), then the new content replaces it atomically (a
// temporary file in the same directory, renamed over it, with the old
// file's mode). Nothing is written when nothing is converted.
func ConvertKubeconfigFile(path string, o KubeconfigOptions) (backup string, done []ConvertedUser, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fail.New(fail.Usage, "cannot read kubeconfig %q: %s", path, pathErrText(err)).
			WithHint("give the file with --kubeconfig FILE (default: the first KUBECONFIG entry, else ~/.kube/config)").Wrap(err)
	}
	out, done, err := ConvertKubeconfig(data, o)
	if err != nil || len(done) == 0 {
		return "", done, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", nil, fail.New(fail.Usage, "kubeconfig %q: %s", path, pathErrText(err)).Wrap(err)
	}
	backup = path + KubeconfigBackupSuffix
	if err := atomicfile.Write(backup, "."+filepath.Base(backup)+".tmp-*", data, 0o600); err != nil {
		return "", nil, fail.New(fail.Usage, "cannot write the backup %q: %s", backup, pathErrText(err)).Wrap(err)
	}
	if err := atomicfile.Write(path, "."+filepath.Base(path)+".tmp-*", out, info.Mode().Perm()); err != nil {
		return "", nil, fail.New(fail.Usage, "cannot write kubeconfig %q: %s", path, pathErrText(err)).Wrap(err)
	}
	return backup, done, nil
}

// pathErrText is an error's text without the path, which the caller quotes.
func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
