#!/usr/bin/env bash
# Builds wmcnitool (a tiny CNI runtime on Debian's libcni, for tests) offline into
# ${WIREMESH_K8S_CACHE:-/var/cache/wiremesh}/bin/wmcnitool. Takes seconds; skipped when present.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${WIREMESH_K8S_CACHE:-/var/cache/wiremesh}/bin"
[ -x "$OUT/wmcnitool" ] && [ "$OUT/wmcnitool" -nt "$ROOT/cni-plugin/src/test/go/wmcnitool/main.go" ] && exit 0
missing=()
for p in golang-go golang-github-appc-cni-dev containernetworking-plugins iptables; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/gopath/src/wmcnitool" "$OUT"
cp "$ROOT/cni-plugin/src/test/go/wmcnitool/main.go" "$W/gopath/src/wmcnitool/"
GO111MODULE=off GOPATH="$W/gopath:/usr/share/gocode" GOPROXY=off CGO_ENABLED=0 GOCACHE="$W/cache" \
  go build -o "$OUT/wmcnitool" wmcnitool
