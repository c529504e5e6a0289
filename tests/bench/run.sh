#!/bin/sh
# run.sh [SECTION...]: the benchmarks whose figures docs/performance.md
# shows, offline (tests/offline.sh), each next to its peer measured in the
# same run. With no SECTION, all of them.
#
#   adaptive  Key Vault references: 200 over 2 vaults at 50 ms a request
#             (default settings, then each vault limited to 60 requests a
#             second), and 20 processes of 50 references against one vault
#             limited to 100 a second. The peer is the baseline binary:
#             AZEXEC_BENCH_BASELINE if set, else BASELINE_REF (default
#             main) built from `git archive`.
#
#   warm      warm `azexec -- true` (az login, environment service
#             principal; the token cache in the kernel keyring) against
#             `true` alone and the real az doing no network (`az account
#             show`: /usr/bin/az or AZEXEC_BENCH_AZ; skipped without one),
#             and `azexec --identity cli` with one Key Vault reference,
#             cold and warm, counting az's runs.
#
#   serve     azexec serve: 64 concurrent clients on cached tokens (p50,
#             p99) against a bare net/http server answering a constant, and
#             a cold burst of 64 requests for one scope (upstream requests).
#
#   mask      1 GiB through a masked COMMAND (200 values of 16 to 64 bytes)
#             against the same run with --supervise and no masking.
#
# BENCH_COUNT (default 10) is the runs per figure for the single-process
# benchmarks, HERD_COUNT (default 3) for the herd.
set -eu
cd "$(dirname "$0")/../.."
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
go mod download
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# baseline prints the path of the baseline binary, building it once.
baseline() {
  if [ -n "${AZEXEC_BENCH_BASELINE:-}" ]; then
    echo "$AZEXEC_BENCH_BASELINE"
    return
  fi
  if [ ! -x "$work/azexec-baseline" ]; then
    mkdir -p "$work/src"
    git archive "${BASELINE_REF:-main}" | tar -x -C "$work/src"
    (cd "$work/src" && go build -o "$work/azexec-baseline" ./cmd/azexec) >&2
  fi
  echo "$work/azexec-baseline"
}

# --- adaptive: Key Vault concurrency (internal/providers/aimd.go) ---
bench_adaptive() {
  base=$(baseline)
  echo "== adaptive: this tree against ${AZEXEC_BENCH_BASELINE:-${BASELINE_REF:-main}}"
  tests/offline.sh env AZEXEC_BENCH_BASELINE="$base" go test -run '^$' \
    -bench 'Defaults200|Limited200' -benchtime "${BENCH_COUNT:-10}x" -timeout 30m ./tests/bench/
  tests/offline.sh env AZEXEC_BENCH_BASELINE="$base" go test -run '^$' \
    -bench 'Herd' -benchtime "${HERD_COUNT:-3}x" -timeout 30m ./tests/bench/
}
# --- end adaptive ---

# --- warm: the token cache of every source (tests/bench/warm_test.go) ---
bench_warm() {
  echo "== warm: warm starts against true and az"
  tests/offline.sh go test -run '^$' -bench 'Warm' -benchtime 20x -count 2 -timeout 30m ./tests/bench/
  tests/offline.sh go test -run '^$' -bench 'CLIReference' -benchtime 10x -count 2 -timeout 30m ./tests/bench/
}
# --- end warm ---

# --- serve: the identity endpoint (tests/bench/serve_test.go) ---
bench_serve() {
  echo "== serve: 64 clients on cached tokens, and a cold burst of 64"
  tests/offline.sh go test -run '^$' -bench 'ServeCached' -benchtime 20000x -count 2 -timeout 30m ./tests/bench/
  tests/offline.sh go test -run '^$' -bench 'ServeColdBurst' -benchtime 5x -timeout 30m ./tests/bench/
}
# --- end serve ---

# --- mask: output masking (tests/bench/mask_bench_test.go) ---
bench_mask() {
  echo "== mask: 1 GiB masked against --supervise"
  tests/offline.sh go test -run '^$' -bench 'Stream(Masked|Supervised)1GiB' -benchtime 1x -count 3 -timeout 30m ./tests/bench/
}
# --- end mask ---

for section in ${*:-warm adaptive serve mask}; do
  "bench_$section"
done
