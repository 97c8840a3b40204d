#!/usr/bin/env bash
# Pod-to-pod across nodes on the local cluster (bin/wiremesh-local): the Java datapath (wiremesh-wg)
# against the current wireguard-go (bookworm-backports, shipped in the node image) as the datapath of
# the same chart, switched with `helm upgrade`, interleaved for R rounds. Per round and datapath: TCP throughput (iperf3, 5 s, test-n1-1 -> test-n2-1)
# and ping RTT (20 pings). Prints every figure, the medians and the ratios Java / wireguard-go.
# Brings a 2-node cluster up (and down at the end) unless one is already running.
# Usage: bench/cluster.sh [R=3]   (root; after scripts/install-deps.sh and mvn package)
set -euo pipefail
R="${1:-3}"
. "$(dirname "${BASH_SOURCE[0]}")/local-cluster.sh"
cleanup() {
  release_cluster
}
trap cleanup EXIT

k() { wml_kubectl -n "$WML_TEST_NS" "$@"; }
dst=$(k get pod test-n2-1 -o jsonpath='{.status.podIP}')

use() {
  "$LOCAL" upgrade "datapath.implementation=$1" >/dev/null 2>&1
  # One datapath DaemonSet per pod template (the chart names it by its hash): the one of the new template.
  wml_kubectl -n "$WML_NAMESPACE" rollout status "$(wml_kubectl -n "$WML_NAMESPACE" get ds -l app.kubernetes.io/component=datapath -o name | head -1)" --timeout=180s >/dev/null
  # The node-daemons' next pass configures the new interfaces; wait for traffic.
  wml_wait 60 "pod traffic over $1" k exec test-n1-1 -- ping -c 1 -W 1 "$dst"
  k exec test-n1-1 -- iperf3 -c "$dst" -t 1 >/dev/null 2>&1 || true   # warm-up (handshake, JIT)
}
tput() { k exec test-n1-1 -- iperf3 -c "$dst" -t 5 -f m | awk '/receiver/{print $(NF-2)}'; }
rtt() { k exec test-n1-1 -- ping -c 20 -i 0.2 -q "$dst" | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A T L
echo "round datapath     TCP(Mbit/s)  RTT(ms)"
for r in $(seq 1 "$R"); do
  # Alternate which one goes first, so drift in the machine's load does not favour either.
  order="java wireguard-go"; [ $((r % 2)) -eq 0 ] && order="wireguard-go java"
  for impl in $order; do
    use "$impl"
    t=$(tput); l=$(rtt)
    T[$impl]+="$t "; L[$impl]+="$l "
    printf "%-5s %-12s %-12s %s\n" "$r" "$impl" "$t" "$l"
  done
done
tj=$(echo ${T[java]} | tr ' ' '\n' | median); tg=$(echo ${T[wireguard-go]} | tr ' ' '\n' | median)
lj=$(echo ${L[java]} | tr ' ' '\n' | median); lg=$(echo ${L[wireguard-go]} | tr ' ' '\n' | median)
echo
echo "median      TCP(Mbit/s)  RTT(ms)"
printf "java        %-12s %s\n" "$tj" "$lj"
printf "wireguard-go %-11s %s\n" "$tg" "$lg"
awk -v a="$tj" -v b="$tg" -v c="$lj" -v d="$lg" 'BEGIN {printf "ratio java/wireguard-go: throughput %.2fx, RTT %.2fx\n", a / b, c / d}'
