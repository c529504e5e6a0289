// Package webhook is azexec's Kubernetes mutating admission webhook: it
// puts azexec in front of the command of the containers of pods that opt
// in, so that a pod resolves its Key Vault references with its own
// workload identity at start, without anyone editing images or manifests.
//
// The webhook only rewrites the pod spec. It adds an in-memory emptyDir,
// an init container that copies the azexec binary into it (`azexec
// install`), mounts it read-only and wraps the command as
// `/azexec-bin/azexec -- COMMAND ARGS...`. It never adds a value: nothing
// secret enters the spec, and the webhook itself needs no access to Key
// Vault. The one thing it may fetch is an image's config from its
// registry, for a container that names no command (the entrypoint lives in
// the image); those are cached by digest.
//
// The package reads AdmissionReview and pod JSON through its own small
// structs holding only the fields it needs, and answers with a JSONPatch:
// fields it does not know pass through untouched, and the main module
// does not depend on k8s.io.
package webhook
