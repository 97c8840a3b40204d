#!/usr/bin/env bash
# Installs (idempotently) the Debian packages wiremesh's demo, tests and benchmarks use.
set -euo pipefail
pkgs=(wireguard-go wireguard-tools iproute2 iputils-ping iperf3 tcpdump socat procps openssl
      containernetworking-plugins containerd runc iptables nftables conntrack python3 util-linux curl
      qemu-system-x86)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# busybox (static or not) goes into the local cluster's test images.
command -v busybox >/dev/null || missing+=(busybox)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Kubernetes 1.20.2 from Debian's source, built once and cached outside the repo: kube-apiserver for the
# operator tests, the rest for the local cluster (bin/wiremesh-local) and its end-to-end suite.
"$(dirname "${BASH_SOURCE[0]}")/build-kube-apiserver.sh" kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
# The current wireguard-go (bookworm-backports, unpacked beside Debian's older one): the datapath interop
# tests' and benchmarks' reference.
"$(dirname "${BASH_SOURCE[0]}")/wireguard-go-current.sh" >/dev/null
# A tiny libcni runtime for the CNI tests (chaining with the reference portmap plugin).
"$(dirname "${BASH_SOURCE[0]}")/build-cnitool.sh"
# Kubernetes' own e2e suite (e2e.test, agnhost and the test images, from the same source): the judge of
# the local cluster's networking (scripts/k8s-e2e.sh run).
"$(dirname "${BASH_SOURCE[0]}")/k8s-e2e.sh" build
[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ] || { echo "Temurin 25 is expected at /usr/lib/jvm/temurin-25-jdk-amd64" >&2; exit 1; }
