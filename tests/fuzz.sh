#!/bin/sh
# fuzz.sh [DURATION]: run every fuzz target of azexec (func Fuzz... in a
# _test.go file under cmd/ or internal/) for DURATION each (default 5s; a
# go test -fuzztime value such as 30s or 1m), one after another, offline.
# A failing input is saved under the package's testdata/fuzz, where
# `go test` replays it from then on.
set -eu
cd "$(dirname "$0")/.."
time=${1:-5s}
case $time in *[!0-9]*) ;; *) time=${time}s ;; esac
if [ -z "${AZEXEC_FUZZ_OFFLINE:-}" ]; then
  go mod download
  AZEXEC_FUZZ_OFFLINE=1 exec tests/offline.sh "$0" "$time"
fi
grep -ro --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' cmd internal | sort |
while IFS= read -r hit; do
  file=${hit%%:*}
  name=${hit#*func }
  echo "fuzz: $name ($(dirname "$file"), $time)"
  # go's fuzzer sometimes reports "context deadline exceeded" when -fuzztime
  # ends while a worker is busy, with no failing input: that is the
  # harness, not the target, so such a run is tried once more. A real
  # failure writes its input under testdata/fuzz and says so.
  if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$time" "./$(dirname "$file")" >/tmp/azexec-fuzz.$$ 2>&1; then
    if grep -q 'context deadline exceeded' /tmp/azexec-fuzz.$$ && ! grep -q 'Failing input written' /tmp/azexec-fuzz.$$; then
      echo "fuzz: $name: the fuzzer's own deadline, no failing input; once more"
      go test -run '^$' -fuzz "^$name\$" -fuzztime "$time" "./$(dirname "$file")" >/tmp/azexec-fuzz.$$ 2>&1 ||
        { cat /tmp/azexec-fuzz.$$ >&2; rm -f /tmp/azexec-fuzz.$$; exit 1; }
    else
      cat /tmp/azexec-fuzz.$$ >&2; rm -f /tmp/azexec-fuzz.$$; exit 1
    fi
  fi
  tail -n 1 /tmp/azexec-fuzz.$$
done
rm -f /tmp/azexec-fuzz.$$
