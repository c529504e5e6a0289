#!/bin/sh
# build.sh [--tag TAG] [--binary FILE] [--ca-bundle FILE]: builds the azexec
# image (Containerfile beside this script) with podman or docker, whichever
# is present, from scratch: no base image is pulled, so it works offline.
#
#   --tag TAG        image name (default localhost/azexec:dev)
#   --binary FILE    a static azexec already built; by default this script
#                    runs `CGO_ENABLED=0 go build ./cmd/azexec` itself
#   --ca-bundle FILE the trust roots the image gets (default the machine's,
#                    /etc/ssl/certs/ca-certificates.crt); SSL_CERT_FILE at
#                    run time overrides it, as for any Go program
#
# ENGINE names the engine command, words split, for example
# ENGINE="podman --root /tmp/x/root" (default: podman, else docker).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=localhost/azexec:dev
binary=
ca=/etc/ssl/certs/ca-certificates.crt
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --ca-bundle) ca=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument \"$1\" (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif command -v docker >/dev/null 2>&1; then ENGINE=docker
  else echo "build.sh: neither podman nor docker is installed" >&2; exit 1
  fi
fi
[ -r "$ca" ] || { echo "build.sh: no CA bundle at \"$ca\" (install ca-certificates, or give --ca-bundle FILE)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
if [ -n "$binary" ]; then
  cp "$binary" "$ctx/azexec"
else
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/azexec" ./cmd/azexec)
fi
# A binary that needs a dynamic loader would not start on scratch.
if command -v file >/dev/null 2>&1 && file "$ctx/azexec" | grep -q 'dynamically linked'; then
  echo "build.sh: \"$binary\" is dynamically linked; build it with CGO_ENABLED=0" >&2
  exit 1
fi
cp "$ca" "$ctx/ca-certificates.crt"
# The image runs as an unprivileged user: both must be readable by it.
chmod 0755 "$ctx/azexec"
chmod 0644 "$ctx/ca-certificates.crt"
cp "$here/Containerfile" "$ctx/Containerfile"
# podman must not look for a newer base (there is none: scratch); docker's
# --pull is a yes/no flag and never pulls scratch anyway.
case "$ENGINE" in podman*) pull=--pull=never ;; *) pull= ;; esac
# shellcheck disable=SC2086 # ENGINE is a command with its arguments
$ENGINE build $pull -q -t "$tag" -f "$ctx/Containerfile" "$ctx" >/dev/null
echo "$tag"
