#!/bin/sh
# tests/bench/run.sh [BENCH-REGEXP]: the benchmarks whose figures
# docs/performance.md shows, offline (tests/offline.sh), each against its
# peer in the same run. Give a regexp to run only some of them.
#
#   Warm             warm `azexec -- true` (az login, environment service
#                    principal) vs `true` alone vs the real az doing no
#                    network (`az account show`: /usr/bin/az or AZEXEC_BENCH_AZ;
#                    skipped without one)
#   CLIReference     `azexec --identity cli` with one Key Vault reference, cold and warm
#   References200$   200 references over 2 vaults at 50 ms a request
set -eu
cd "$(dirname "$0")/../.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
go mod download
only=${1:-}
bench() { # NAME BENCHTIME COUNT
  case "$1" in *"$only"*) ;; *) [ -n "$only" ] && return 0 ;; esac
  echo "== $1" >&2
  tests/offline.sh go test -run '^$' -bench "$1" -benchtime "$2" -count "$3" -timeout 30m ./tests/bench/
}
bench 'Warm' 20x 2
bench 'CLIReference' 10x 2
bench 'References200$' 10x 3
