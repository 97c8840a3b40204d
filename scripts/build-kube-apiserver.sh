#!/usr/bin/env bash
# Builds Kubernetes v1.20.2 control-plane binaries from Debian's `kubernetes` source package, offline,
# and caches them outside the repository (default /var/cache/wiremesh/k8s-1.20.2/bin). Only the first
# run pays the build (~7 minutes on 2 cores); later runs return at once.
#   scripts/build-kube-apiserver.sh [extra commands, e.g. kubelet kube-controller-manager kube-scheduler]
# Also lays out the directory Fabric8's kube-api-test reads in offline mode:
#   $WIREMESH_K8S_CACHE/kubeapitest/k8s/1.20.2-linux-amd64/{kube-apiserver,etcd,kubectl}
set -euo pipefail
CACHE="${WIREMESH_K8S_CACHE:-/var/cache/wiremesh}"
OUT="$CACHE/k8s-1.20.2"
W="$CACHE/build-k8s-1.20.2"
CMDS=("kube-apiserver" "$@")
# kube-api-test wants a kubectl beside the server: use the one on PATH, else build it from the same source.
command -v kubectl >/dev/null || CMDS+=("kubectl")
log() { echo "[build-kube-apiserver] $*" >&2; }

need=()
for c in "${CMDS[@]}"; do [ -x "$OUT/bin/$c" ] || need+=("$c"); done
pkgs=(etcd-server)
[ ${#need[@]} -eq 0 ] || pkgs+=(dpkg-dev golang-go rsync golang-github-modern-go-reflect2-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ ! -f /etc/apt/sources.list.d/wiremesh-deb-src.sources ]; then
    log "adding a deb-src entry for Debian's kubernetes source package"
    cat >/etc/apt/sources.list.d/wiremesh-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq
  fi
  mkdir -p "$W" "$OUT/bin"
  cd "$W"
  SRC="$(ls -d "$W"/kubernetes-*/ 2>/dev/null | head -1 || true)"
  if [ -z "$SRC" ]; then
    log "fetching the source package"
    apt-get source -qq kubernetes >/dev/null 2>&1
    SRC="$(ls -d "$W"/kubernetes-*/ | head -1)"
  fi
  SRC="${SRC%/}"
  # Go >= 1.18 crashes in json-iterator with the vendored reflect2 1.0.1: use Debian's 1.0.2 (same API).
  if [ ! -f "$SRC/vendor/github.com/modern-go/reflect2/go_above_118.go" ]; then
    rm -rf "$SRC/vendor/github.com/modern-go/reflect2"; mkdir -p "$SRC/vendor/github.com/modern-go/reflect2"
    cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go /usr/share/gocode/src/github.com/modern-go/reflect2/*.s \
       "$SRC/vendor/github.com/modern-go/reflect2/"
  fi
  # The generated OpenAPI definitions are not in the tarball.
  if ! ls "$SRC"/pkg/generated/openapi/zz_generated.openapi.go >/dev/null 2>&1; then
    log "generating OpenAPI definitions"
    (cd "$SRC" && GOPROXY=off nice -n 10 make gen_openapi >/dev/null)
  fi
  # Kubernetes 1.20 builds in GOPATH mode.
  mkdir -p "$W/gopath/src/k8s.io"; ln -sfn "$SRC" "$W/gopath/src/k8s.io/kubernetes"
  export GO111MODULE=off GOPATH="$W/gopath" GOCACHE="$W/gocache" GOPROXY=off GOFLAGS= CGO_ENABLED=0
  LD="-s -w"
  for p in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    LD="$LD -X $p.gitVersion=v1.20.2 -X $p.gitMajor=1 -X $p.gitMinor=20 -X $p.gitTreeState=clean"
  done
  cd "$W/gopath/src/k8s.io/kubernetes"
  for c in "${need[@]}"; do
    log "compiling $c (minutes, the first time)"
    nice -n 10 go build -ldflags "$LD" -o "$OUT/bin/$c.tmp" "./cmd/$c"
    mv "$OUT/bin/$c.tmp" "$OUT/bin/$c"
  done
fi

KAT="$CACHE/kubeapitest/k8s/1.20.2-linux-amd64"
mkdir -p "$KAT"
ln -sfn "$OUT/bin/kube-apiserver" "$KAT/kube-apiserver"
# kube-api-test starts etcd on 0.0.0.0: keep it on loopback.
rm -f "$KAT/etcd"
printf '#!/bin/sh\nexec /usr/bin/etcd $(echo "$@" | sed "s/0\\.0\\.0\\.0/127.0.0.1/g")\n' >"$KAT/etcd"
chmod +x "$KAT/etcd"
ln -sfn "$(command -v kubectl || echo "$OUT/bin/kubectl")" "$KAT/kubectl"
"$OUT/bin/kube-apiserver" --version >&2
