package webhook

import (
	"fmt"
	"slices"
	"strings"
)

// The annotations and label a pod or namespace opts in with. They are the
// whole interface between a manifest and the webhook.
const (
	// AnnotationInject on a pod: "true" opts it in, "false" opts it out of
	// a namespace that opted in.
	AnnotationInject = "azexec.io/inject"
	// AnnotationContainers on a pod: a comma-separated list of container
	// names to wrap (default: every app container; init containers never).
	AnnotationContainers = "azexec.io/containers"
	// AnnotationOnImageError on a pod: "admit" admits the pod unchanged,
	// with a warning, when an image's entrypoint cannot be read; the
	// default, "deny", refuses the pod naming the image.
	AnnotationOnImageError = "azexec.io/on-image-error"
	// LabelNamespaceInject on a namespace: "enabled" opts in every pod of
	// it. The MutatingWebhookConfiguration routes such namespaces to
	// /mutate/namespace (see docs/kubernetes.md).
	LabelNamespaceInject = "azexec.io/inject"
)

// choice is what a pod's annotations ask of the webhook.
type choice struct {
	inject            bool
	containers        []string // nil: every app container
	admitOnImageError bool
}

// readChoice reads a pod's annotations. namespaceOptIn is true when the
// pod came through the namespace route (its namespace carries the
// label). An annotation that is present but malformed is an error: a pod
// that asked for something the webhook does not understand is refused
// rather than silently run without azexec.
func readChoice(ann map[string]string, namespaceOptIn bool) (choice, error) {
	c := choice{inject: namespaceOptIn}
	if v, ok := ann[AnnotationInject]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "enabled", "yes":
			c.inject = true
		case "false", "disabled", "no":
			c.inject = false
		default:
			return c, fmt.Errorf("annotation %s: want \"true\" or \"false\", got %q", AnnotationInject, clip(v))
		}
	}
	if v, ok := ann[AnnotationContainers]; ok {
		names, err := parseContainerList(v)
		if err != nil {
			return c, err
		}
		c.containers = names
	}
	if v, ok := ann[AnnotationOnImageError]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "admit":
			c.admitOnImageError = true
		case "deny", "":
		default:
			return c, fmt.Errorf("annotation %s: want \"deny\" or \"admit\", got %q", AnnotationOnImageError, clip(v))
		}
	}
	return c, nil
}

// parseContainerList splits "a, b,c" into container names, each a DNS
// label as Kubernetes requires of container names.
func parseContainerList(v string) ([]string, error) {
	var names []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !isDNSLabel(f) {
			return nil, fmt.Errorf("annotation %s: %q is not a container name", AnnotationContainers, clip(f))
		}
		if !slices.Contains(names, f) {
			names = append(names, f)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("annotation %s names no container", AnnotationContainers)
	}
	return names, nil
}

// isDNSLabel reports whether s is an RFC 1123 label: the rule for
// container names.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
