package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The names the mutation adds to a pod. They double as its marks: a pod
// that already has them went through the webhook before (reinvocation,
// or a controller re-creating a pod from a mutated template).
const (
	VolumeName    = "azexec-bin"
	InitName      = "azexec-install"
	MountPath     = "/azexec-bin"
	WrapperPath   = MountPath + "/azexec"
	volumeMemSize = "64Mi"
)

// Options are what the mutation needs besides the pod.
type Options struct {
	// Image is the azexec image the init container runs.
	Image string
	// BinaryInImage is the path of azexec inside Image.
	BinaryInImage string
	// ExcludedNamespaces are never touched, whatever a pod or its
	// namespace asks: kube-system and the webhook's own at least.
	ExcludedNamespaces []string
	// Entrypoints reads the entrypoint of an image for containers that
	// name no command; nil refuses such containers.
	Entrypoints EntrypointReader
}

// PullContext is where an image is pulled from: the pod's namespace and
// the names of its imagePullSecrets.
type PullContext struct {
	Namespace string
	Secrets   []string
}

// ImageConfig is the part of an image's config that decides what a
// container runs when its spec names no command.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
}

// EntrypointReader reads an image's config (registry.go).
type EntrypointReader interface {
	ReadEntrypoint(ctx context.Context, image string, pull PullContext) (ImageConfig, error)
}

// outcome is one admission's answer and what its log line says.
type outcome struct {
	resp     response
	pod      string
	changed  []string
	decision string // wrapped, unchanged, denied, admitted-with-warning
	reason   string
}

// patchOp is one JSON Patch (RFC 6902) operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// admit decides on one request. namespaceOptIn is true for requests that
// came through the namespace route.
func admit(ctx context.Context, o *Options, req *request, namespaceOptIn bool) outcome {
	out := outcome{resp: response{UID: req.UID, Allowed: true}, decision: "unchanged"}
	if req.Kind.Kind != "Pod" || req.Resource.Resource != "pods" || req.SubResource != "" || req.Operation != "CREATE" {
		out.reason = "not a pod creation"
		return out
	}
	var p pod
	if err := json.Unmarshal(req.Object, &p); err != nil {
		return deny(out, "azexec webhook: the pod object is not valid JSON")
	}
	out.pod = p.displayName()
	// Only the API server's word for the namespace counts: the pod's own
	// metadata.namespace is its author's, who could name another one.
	ns := req.Namespace
	if ns == "" {
		out.reason = "the request names no namespace"
		return out
	}
	if slices.Contains(o.ExcludedNamespaces, ns) {
		out.reason = "namespace excluded"
		return out
	}
	c, err := readChoice(p.Metadata.Annotations, namespaceOptIn)
	if err != nil {
		return deny(out, "azexec webhook: "+err.Error())
	}
	if !c.inject {
		out.reason = "not opted in"
		return out
	}
	targets, err := chooseContainers(p.Spec.Containers, c.containers)
	if err != nil {
		return deny(out, "azexec webhook: "+err.Error())
	}
	ops, changed, err := buildPatch(ctx, o, &p, targets, PullContext{Namespace: ns, Secrets: secretNames(p.Spec.ImagePullSecrets)})
	if err != nil {
		if c.admitOnImageError {
			out.resp.Warnings = []string{"azexec webhook: pod admitted without azexec: " + err.Error()}
			out.decision, out.reason = "admitted-with-warning", "image config unreadable"
			return out
		}
		return deny(out, "azexec webhook: "+err.Error())
	}
	if len(ops) == 0 {
		out.reason = "already wrapped"
		return out
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return deny(out, "azexec webhook: building the patch: "+err.Error())
	}
	out.resp.Patch, out.resp.PatchType = patch, "JSONPatch"
	out.changed, out.decision = changed, "wrapped"
	return out
}

func deny(out outcome, msg string) outcome {
	out.resp.Allowed = false
	out.resp.Result = &status{Code: 403, Reason: "Forbidden", Message: msg}
	out.decision, out.reason = "denied", msg
	return out
}

func secretNames(s []named) []string {
	var names []string
	for _, n := range s {
		if n.Name != "" {
			names = append(names, n.Name)
		}
	}
	return names
}

// chooseContainers returns the indexes of the app containers to wrap:
// those the annotation names, else all. Init containers are never
// candidates: they run before the binary is installed.
func chooseContainers(cs []container, names []string) ([]int, error) {
	var idx []int
	for _, n := range names {
		i := slices.IndexFunc(cs, func(c container) bool { return c.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("annotation %s names container %q, which is not an app container of the pod", AnnotationContainers, n)
		}
		idx = append(idx, i)
	}
	if names == nil {
		for i := range cs {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	return idx, nil
}

// buildPatch returns the operations that wrap the target containers, and
// their names. Each part is added only when missing, so a pod that comes
// back (reinvocation) is left as it is.
func buildPatch(ctx context.Context, o *Options, p *pod, targets []int, pull PullContext) ([]patchOp, []string, error) {
	var ops []patchOp
	var changed []string
	for _, i := range targets {
		c := &p.Spec.Containers[i]
		cops, err := wrapContainer(ctx, o, c, fmt.Sprintf("/spec/containers/%d", i), pull)
		if err != nil {
			return nil, nil, err
		}
		if len(cops) > 0 {
			ops = append(ops, cops...)
			changed = append(changed, c.Name)
		}
	}
	if len(ops) == 0 {
		return nil, nil, nil
	}
	if !slices.ContainsFunc(p.Spec.Volumes, func(v named) bool { return v.Name == VolumeName }) {
		ops = append(ops, appendOp("/spec/volumes", p.Spec.Volumes == nil, volume()))
	}
	if !slices.ContainsFunc(p.Spec.InitContainers, func(c container) bool { return c.Name == InitName }) {
		ops = append(ops, appendOp("/spec/initContainers", p.Spec.InitContainers == nil, initContainer(o)))
	}
	return ops, changed, nil
}

// wrapContainer returns the operations for one container: the read-only
// mount and the wrapped command. A container whose command already starts
// with the wrapper gets none.
func wrapContainer(ctx context.Context, o *Options, c *container, path string, pull PullContext) ([]patchOp, error) {
	if len(c.Command) > 0 && c.Command[0] == WrapperPath {
		return nil, nil
	}
	var ops []patchOp
	command := c.Command
	if len(command) == 0 {
		// Kubernetes runs the image's Entrypoint, with the container's args
		// or else the image's Cmd. Once the spec names a command the
		// image's Cmd no longer applies, so it moves into args.
		if o.Entrypoints == nil {
			return nil, fmt.Errorf("container %q names no command and reading image entrypoints is off", c.Name)
		}
		cfg, err := o.Entrypoints.ReadEntrypoint(ctx, c.Image, pull)
		if err != nil {
			return nil, err
		}
		command = cfg.Entrypoint
		if len(c.Args) == 0 && len(cfg.Cmd) > 0 {
			ops = append(ops, patchOp{Op: "add", Path: path + "/args", Value: cfg.Cmd})
		}
		if len(command) == 0 && len(c.Args) == 0 && len(cfg.Cmd) == 0 {
			return nil, fmt.Errorf("image %q has neither Entrypoint nor Cmd, and container %q names no command", c.Image, c.Name)
		}
	}
	wrapped := append([]string{WrapperPath, "--"}, command...)
	ops = append(ops, patchOp{Op: "add", Path: path + "/command", Value: wrapped})
	if !slices.ContainsFunc(c.VolumeMounts, func(m volumeMount) bool { return m.Name == VolumeName }) {
		ops = append(ops, appendOp(path+"/volumeMounts", c.VolumeMounts == nil,
			volumeMount{Name: VolumeName, MountPath: MountPath, ReadOnly: true}))
	}
	return ops, nil
}

// appendOp adds v to the list at path, creating the list when absent: a
// JSON Patch "add" to "/-" needs the list to exist.
func appendOp(path string, absent bool, v any) patchOp {
	if absent {
		return patchOp{Op: "add", Path: path, Value: []any{v}}
	}
	return patchOp{Op: "add", Path: path + "/-", Value: v}
}

// volume is the in-memory emptyDir the binary is installed into: it lives
// as long as the pod, on no node disk.
func volume() map[string]any {
	return map[string]any{
		"name":     VolumeName,
		"emptyDir": map[string]any{"medium": "Memory", "sizeLimit": volumeMemSize},
	}
}

// initContainer installs azexec into the volume. It runs as an unprivileged
// user with nothing writable but the volume, so that it fits a pod under
// the "restricted" Pod Security Standard.
func initContainer(o *Options) map[string]any {
	no, yes := false, true
	return map[string]any{
		"name":            InitName,
		"image":           o.Image,
		"imagePullPolicy": "IfNotPresent",
		"command":         []string{o.BinaryInImage, "install", WrapperPath},
		"volumeMounts":    []volumeMount{{Name: VolumeName, MountPath: MountPath}},
		"resources": map[string]any{
			"requests": map[string]string{"cpu": "10m", "memory": "16Mi"},
			"limits":   map[string]string{"memory": "64Mi"},
		},
		"securityContext": map[string]any{
			"runAsNonRoot":             yes,
			"runAsUser":                65532,
			"allowPrivilegeEscalation": no,
			"readOnlyRootFilesystem":   yes,
			"capabilities":             map[string]any{"drop": []string{"ALL"}},
			"seccompProfile":           map[string]string{"type": "RuntimeDefault"},
		},
	}
}

// describe is the log line's list of changed containers.
func describe(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ",")
}
