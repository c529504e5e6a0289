#!/bin/sh
# demo.sh: build azexec and run its main job end to end against the bundled
# fake Azure, offline. The fake (tests/cmd/fakeazure) serves Entra ID over
# HTTPS on loopback with a CA it generates; a service principal's secret sits
# in an env file, and azexec resolves it, proves it, and runs a command with it.
# azexec gets a scratch HOME and a PATH without the machine's az or azd: the
# user's own Azure login and ~/.azure are never used or touched.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${AZEXEC_DEMO_OFFLINE:-}" ]; then
  go mod download
  mkdir -p bin
  go build -tags urfave_cli_no_docs -o bin/azexec ./cmd/azexec
  go build -o bin/fakeazure ./tests/cmd/fakeazure
  AZEXEC_DEMO_OFFLINE=1 exec tests/offline.sh "$0"
fi

dir=$(mktemp -d)
fake=
cleanup() { [ -n "$fake" ] && kill "$fake" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
bin/fakeazure -dir "$dir" >"$dir/fake.out" 2>&1 &
fake=$!
i=0
until grep -q ready "$dir/fake.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { cat "$dir/fake.out" >&2; exit 1; }
  sleep 0.1
done
# Trust the fake's CA and point the authority at it.
. "$dir/fake.env"
export SSL_CERT_FILE AZURE_AUTHORITY_HOST

# The service principal lives in an env file, not in the shell.
cat >"$dir/sp.env" <<ENV
AZURE_TENANT_ID=$FAKEAZURE_TENANT_ID
AZURE_CLIENT_ID=$FAKEAZURE_CLIENT_ID
AZURE_CLIENT_SECRET=$FAKEAZURE_CLIENT_SECRET
ENV

# azexec runs as on a machine of its own: an empty HOME (no ~/.azure, no
# azexec config) and a PATH of azexec, sh and env only, so the user's own
# az or azd login, AZURE_* variables and files are neither used nor touched.
home=$dir/home tools=$dir/tools
mkdir "$home" "$tools"
for t in sh env; do ln -s "$(command -v "$t")" "$tools/$t"; done
ln -s "$PWD/bin/azexec" "$tools/azexec"
clean() {
  env -i PATH="$tools" HOME="$home" AZURE_CONFIG_DIR="$home/.azure" AZD_CONFIG_DIR="$home/.azd" \
    SSL_CERT_FILE="$SSL_CERT_FILE" AZURE_AUTHORITY_HOST="$AZURE_AUTHORITY_HOST" "$@"
}

run() { printf '\n$ %s\n' "$*"; clean "$@"; }
run azexec --env-file "$dir/sp.env" whoami
run azexec --env-file "$dir/sp.env" -- sh -c 'echo "child: acting as $AZURE_CLIENT_ID in tenant $AZURE_TENANT_ID (secret of ${#AZURE_CLIENT_SECRET} characters, never printed)"'
printf '\n$ azexec whoami   # nothing configured: exit 3, every source and why\n'
status=0
clean azexec whoami || status=$?
[ "$status" = 3 ] || { echo "demo: expected exit 3, got $status" >&2; exit 1; }
printf '\ndemo: ok\n'
