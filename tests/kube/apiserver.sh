#!/usr/bin/env bash
# Prints the path of a kube-apiserver built from the k8s.io/kubernetes
# version this module requires, building it first when the cache lacks it.
# The cache lives outside the repository ($AZEXEC_KUBE_CACHE, default
# ~/.cache/azexec) keyed by version, so a clean clone on a machine that built
# it once reuses it; a machine that never did pays the build (about 4 minutes
# of 2 idle cores, far more when they are busy). Needs the module cache
# (`go mod download` in this directory) and no network beyond that.
set -euo pipefail
cd "$(dirname "$0")"
version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
cache=${AZEXEC_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/azexec}
bin="$cache/kube-apiserver-$version"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  echo "building kube-apiserver $version into $bin (several minutes)" >&2
  CGO_ENABLED=0 go build -trimpath -o "$bin.tmp.$$" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)" \
    k8s.io/kubernetes/cmd/kube-apiserver
  mv "$bin.tmp.$$" "$bin"
fi
echo "$bin"
