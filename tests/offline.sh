#!/bin/sh
# offline.sh CMD [ARGS...]: run CMD in a fresh network namespace that has only
# loopback, so nothing it starts can reach any address but 127.0.0.1/::1. The
# address IMDS uses, 169.254.169.254, is added to lo so that a test can serve
# a fake IMDS there; with nothing listening, the managed-identity probe is
# refused at once, exactly as on a laptop off Azure.
# Download modules first: the registries are unreachable in there too.
set -eu
[ $# -gt 0 ] || { echo "usage: tests/offline.sh CMD [ARGS...]" >&2; exit 2; }
inner='ip link set lo up && ip addr add 169.254.169.254/32 dev lo && exec "$@"'
if [ "$(id -u)" = 0 ]; then
  exec unshare -n sh -c "$inner" offline "$@"
else
  exec unshare -rn sh -c "$inner" offline "$@"
fi
