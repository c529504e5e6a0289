#!/bin/sh
# run.sh [GO TEST FLAGS...]: every test of azexec, offline. Go modules and
# the npm packages of the interop child (tests/interop/node) are fetched
# first; then `go test -race ./...` runs inside a network namespace with only
# loopback (tests/offline.sh): no test can reach Azure, the machine's own az
# login is never used, and IMDS is a fake on lo. Then the Kubernetes webhook
# tests (tests/kube, a module of its own) run against a real kube-apiserver
# and etcd on 127.0.0.1: kube-apiserver is built from Go modules once per
# version and cached in ~/.cache/azexec (the first build takes about 4
# minutes on 2 idle cores; the tests themselves about 2 minutes).
set -eu
cd "$(dirname "$0")/.."
go mod download
(cd tests/interop/node && npm ci --no-audit --no-fund --loglevel=error)
# The container tests (tests/podman_test.go) need rootful podman and runc;
# say so here, not only in go test's -v output, when they will be skipped.
if ! command -v podman >/dev/null 2>&1 || { ! command -v runc >/dev/null 2>&1 && [ ! -x /usr/sbin/runc ]; }; then
  echo "tests/run.sh: podman or runc is not installed: the container tests are SKIPPED (.ci/run installs them)" >&2
elif [ "$(id -u)" != 0 ]; then
  echo "tests/run.sh: not root: the container tests (rootful podman) are SKIPPED" >&2
fi
(cd tests/kube && go mod download && ./apiserver.sh >/dev/null)
if ! command -v etcd >/dev/null 2>&1; then
  echo "tests/run.sh: etcd is not installed (Debian: etcd-server): the Kubernetes tests cannot run" >&2
  exit 1
fi
tests/offline.sh go test -race -count=1 -timeout 30m "$@" ./...
cd tests/kube && exec ../offline.sh go test -count=1 -timeout 30m "$@" .
