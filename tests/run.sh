#!/bin/sh
# run.sh [GO TEST FLAGS...]: every test of azexec, offline. Modules are
# downloaded first, then `go test -race ./...` runs inside a network
# namespace with only loopback (tests/offline.sh): no test can reach Azure,
# the machine's own az login is never used, and IMDS is a fake on lo.
set -eu
cd "$(dirname "$0")/.."
go mod download
exec tests/offline.sh go test -race -count=1 "$@" ./...
