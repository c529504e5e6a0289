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
exec tests/offline.sh go test -race -count=1 -timeout 30m "$@" ./...
