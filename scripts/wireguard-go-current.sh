#!/usr/bin/env bash
# Prints the path of the current wireguard-go (Debian bookworm-backports: batched I/O, TUN offloads),
# the datapath benchmarks' reference. Downloaded once (never installed, so Debian's older wireguard-go
# stays the one on PATH) and unpacked under /var/cache/wiremesh/wireguard-go-bpo.
set -euo pipefail
dir=/var/cache/wiremesh/wireguard-go-bpo
bin="$dir/root/usr/bin/wireguard-go"
if [ ! -x "$bin" ]; then
  if [ ! -f /etc/apt/sources.list.d/wiremesh-backports.sources ]; then
    cat >/etc/apt/sources.list.d/wiremesh-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq >&2
  fi
  mkdir -p "$dir"
  (cd "$dir" && apt-get download -qq wireguard-go/bookworm-backports >&2 && dpkg-deb -x wireguard-go_*.deb root)
fi
echo "$bin"
