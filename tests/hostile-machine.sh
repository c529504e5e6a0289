#!/bin/sh
# hostile-machine.sh [--az-on-path | --az-in-usr-bin] [GO TEST ARGS...]
#
# Runs the tests and the demo on a machine as azexec's users have it: az and
# azd installed and logged in, ~/.azure and ~/.azd full. Stubs that answer
# every question as logged-in CLIs do (`az account get-access-token` with a
# token, `az account show` with a subscription, `azd auth token`) are put
#   --az-on-path    (default) in a directory first on PATH, or
#   --az-in-usr-bin at /usr/bin/az and /usr/bin/azd, next to sh and env: in
#                   a private mount namespace (an overlay on /usr/bin that no
#                   other process sees); where that is impossible, installed
#                   for real if absent, and removed on exit.
# HOME is a scratch directory with a fake ~/.azure, ~/.azd, ~/.kube and
# ~/.docker in it (AZURE_CONFIG_DIR and AZD_CONFIG_DIR point there too).
#
# Then `tests/offline.sh go test -count=1 ARGS` (default ./...) and
# tests/demo.sh run. It fails if either fails, if a stub ever ran, or if
# anything under HOME was created, removed, resized or modified.
set -eu
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$self")/.."

mode=path
case "${1:-}" in
--az-on-path) shift ;;
--az-in-usr-bin) mode=usr-bin; shift ;;
--*) echo "usage: tests/hostile-machine.sh [--az-on-path | --az-in-usr-bin] [GO TEST ARGS...]" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || set -- ./...

# inner: the run itself, in an environment whose az is a logged-in stub.
# HOSTILE_WORK holds the stubs, their call log and the fake HOME.
if [ -n "${HOSTILE_INNER:-}" ]; then
  work=$HOSTILE_WORK
  home=$work/home
  export HOME="$home" AZURE_CONFIG_DIR="$home/.azure" AZD_CONFIG_DIR="$home/.azd"
  # The stub must be what a careless test finds: the PATH old tests gave
  # azexec (/usr/bin:/bin) in the one mode, the machine's PATH in the other.
  case $mode in
  path) reach=$PATH ;;
  usr-bin) reach=/usr/bin:/bin ;;
  esac
  if ! PATH=$reach az account get-access-token -o json >/dev/null || [ ! -s "$work/calls" ]; then
    echo "hostile-machine: the stub az is not what PATH=$reach finds; this run would prove nothing" >&2
    exit 1
  fi
  : >"$work/calls"
  # What the Go toolchain itself keeps under HOME (telemetry counters in
  # ~/.config/go) is not azexec's doing; everything else is listed.
  list() {
    (cd "$home" && find . -path ./.config/go -prune -o -printf '%p %y %s %m %T@\n' | LC_ALL=C sort)
  }
  list >"$work/before"
  status=0
  echo "hostile-machine ($mode): tests/offline.sh go test -count=1 $*"
  tests/offline.sh go test -count=1 "$@" || status=1
  echo "hostile-machine ($mode): tests/demo.sh"
  tests/demo.sh || status=1
  list >"$work/after"
  if ! diff -u "$work/before" "$work/after" >&2; then
    echo "hostile-machine ($mode): HOME changed (above: - before, + after)" >&2
    status=1
  fi
  if [ -s "$work/calls" ]; then
    echo "hostile-machine ($mode): the machine's az or azd ran:" >&2
    cat "$work/calls" >&2
    status=1
  fi
  [ $status = 0 ] && echo "hostile-machine ($mode): ok"
  exit $status
fi

# outer: fetch what the offline run needs, keep the Go toolchain's caches
# where they are (the fake HOME must not need them), make the stubs.
go mod download
GOPATH=$(go env GOPATH) GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE) GOENV=$(go env GOENV)
export GOPATH GOMODCACHE GOCACHE GOENV
work=$(mktemp -d)
installed=
cleanup() {
  for f in $installed; do rm -f "$f"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

b64url() { base64 | tr -d '\n=' | tr '+/' '-_'; }
tenant=72f988bf-86f1-41af-91ab-2d7cd011db47
sub=8d3c2f3a-1b2c-4d5e-9f00-0123456789ab
exp=4070908800 # 2099-01-01
token=$(printf '{"alg":"RS256","typ":"JWT","kid":"hostile"}' | b64url).$(printf '{"aud":"https://management.azure.com/","iss":"https://sts.windows.net/%s/","tid":"%s","oid":"0b6a2e1c-5d4f-4e3a-8c2b-1a0f9e8d7c6b","upn":"dev@example.com","exp":%s}' "$tenant" "$tenant" "$exp" | b64url).$(printf 'not-a-signature' | b64url)

mkdir -p "$work/stubs" "$work/home/.azure" "$work/home/.azd/auth" "$work/home/.kube" "$work/home/.docker" "$work/home/.config/go"
cat >"$work/stubs/az" <<EOF
#!/bin/sh
# A logged-in Azure CLI, as far as any caller can tell (hostile-machine.sh).
echo "az \$*" >>'$work/calls'
case "\$*" in
*get-access-token*)
  printf '{\n  "accessToken": "%s",\n  "expiresOn": "2099-01-01 00:00:00.000000",\n  "expires_on": $exp,\n  "subscription": "$sub",\n  "tenant": "$tenant",\n  "tokenType": "Bearer"\n}\n' '$token' ;;
*"account show"*|*"account list"*)
  printf '{"id": "$sub", "tenantId": "$tenant", "isDefault": true, "name": "Hostile", "state": "Enabled", "user": {"name": "dev@example.com", "type": "user"}}\n' ;;
*) echo '{}' ;;
esac
EOF
cat >"$work/stubs/azd" <<EOF
#!/bin/sh
# A logged-in Azure Developer CLI (hostile-machine.sh).
echo "azd \$*" >>'$work/calls'
case "\$*" in
*"auth token"*) printf '{"token": "%s", "expiresOn": "2099-01-01T00:00:00Z"}\n' '$token' ;;
*) echo "Logged in to Azure." ;;
esac
EOF
chmod 755 "$work/stubs/az" "$work/stubs/azd"
: >"$work/calls"
printf '{"installationId": "hostile", "subscriptions": [{"id": "%s", "name": "Hostile", "state": "Enabled", "user": {"name": "dev@example.com", "type": "user"}, "isDefault": true, "tenantId": "%s", "environmentName": "AzureCloud"}]}\n' "$sub" "$tenant" >"$work/home/.azure/azureProfile.json"
printf '{"AccessToken": {"x": {"secret": "%s", "credential_type": "AccessToken", "home_account_id": "x", "environment": "login.microsoftonline.com", "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "target": "https://management.azure.com/.default", "realm": "%s", "expires_on": "%s"}}}\n' "$token" "$tenant" "$exp" >"$work/home/.azure/msal_token_cache.json"
printf '[core]\noutput = json\n' >"$work/home/.azure/config"
printf '{"defaults": {"subscription": "%s"}}\n' "$sub" >"$work/home/.azd/config.json"
printf '{"token": "%s"}\n' "$token" >"$work/home/.azd/auth/auth.json"
printf 'apiVersion: v1\nkind: Config\nusers:\n- name: dev\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: az\n' >"$work/home/.kube/config"
printf '{"credsStore": "az"}\n' >"$work/home/.docker/config.json"

export HOSTILE_INNER=1 HOSTILE_WORK="$work"
case $mode in
path)
  PATH=$work/stubs:$PATH sh "$self" --az-on-path "$@"
  ;;
usr-bin)
  mkdir "$work/upper" "$work/ovl" "$work/ovl-probe"
  cp -p "$work/stubs/az" "$work/stubs/azd" "$work/upper/"
  # A private overlay on /usr/bin: every process of this run sees the
  # stubs there (on merged-/usr systems /bin is /usr/bin too); nothing
  # else on the machine does.
  # shellcheck disable=SC2016
  # HOSTILE_NO_MOUNT_NS=1 skips the namespace (to try the fallback).
  if [ -z "${HOSTILE_NO_MOUNT_NS:-}" ] && [ "$(id -u)" = 0 ] && unshare -m sh -c 'mount --make-rprivate / && mount -t overlay hostile -o "lowerdir=/usr/bin,upperdir=$0/upper,workdir=$0/ovl-probe" /usr/bin' "$work" 2>/dev/null; then
    unshare -m sh -c 'mount --make-rprivate / && mount -t overlay hostile -o "lowerdir=/usr/bin,upperdir=$0/upper,workdir=$0/ovl" /usr/bin && exec "$@"' \
      "$work" sh "$self" --az-in-usr-bin "$@"
  elif [ ! -e /usr/bin/az ] && [ ! -e /usr/bin/azd ] && [ -w /usr/bin ]; then
    echo "hostile-machine: no private mount namespace; installing stubs at /usr/bin/az and /usr/bin/azd until the end of this run" >&2
    installed="/usr/bin/az /usr/bin/azd"
    cp "$work/stubs/az" /usr/bin/az
    cp "$work/stubs/azd" /usr/bin/azd
    sh "$self" --az-in-usr-bin "$@"
  else
    echo "hostile-machine: cannot put a stub at /usr/bin/az here (needs root, or an absent /usr/bin/az and a writable /usr/bin)" >&2
    exit 1
  fi
  ;;
esac
