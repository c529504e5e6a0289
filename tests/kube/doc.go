// Package kube tests `azexec webhook` against a real kube-apiserver and
// etcd on 127.0.0.1: pods created through the API server are stored as the
// webhook mutated them (or as they were), the entrypoint of an image comes
// from a go-containerregistry registry on loopback, and a burst of 200 pods
// measures admission latency.
//
// It is a Go module of its own so that the main module's build and vet
// never pull k8s.io/kubernetes: this module requires it (with the staging
// modules pinned by replace, as k8s.io/kubernetes's own go.mod lists them)
// to build kube-apiserver (apiserver.sh, cached by version outside the
// repository), and client-go to drive it. tests/run.sh runs it.
package kube
