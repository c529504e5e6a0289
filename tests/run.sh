#!/bin/sh
# run.sh [GO TEST FLAGS...]: every test of azexec, offline. Go modules and
# the npm packages of the interop child (tests/interop/node) are fetched
# first; then `go test -race ./...` runs inside a network namespace with only
# loopback (tests/offline.sh): no test can reach Azure, the machine's own az
# login is never used, and IMDS is a fake on lo.
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
exec tests/offline.sh go test -race -count=1 -timeout 30m "$@" ./...
