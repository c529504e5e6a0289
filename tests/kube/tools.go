//go:build tools

// This file pins the API server's command in this module so that
// `go build k8s.io/kubernetes/cmd/kube-apiserver` resolves with the
// staging replaces above; it is never compiled into a test.
package kube

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
