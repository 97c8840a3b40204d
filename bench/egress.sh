#!/usr/bin/env bash
# Egress on the local cluster (bin/wiremesh-local), TCP throughput (iperf3, 5 s each), interleaved for
# R rounds; prints every figure, the medians and two ratios:
#   a) test-n1-1 -> the outside world's iperf3 (198.51.100.2:5201, masqueraded to node 1's address)
#      vs node 1's own network namespace -> the same server
#   b) test-n1-1 -> node 2's address (198.19.0.12, an iperf3 server this script runs in wml-n2's
#      network namespace) vs test-n1-1 -> test-n2-1
#   c) the cost of the masquerade alone: test-n1-1 -> outside through the masquerade vs the same path
#      routed without it (for those runs only, wiremesh's nftables table on node 1 is set aside and
#      the outside and the underlay get routes back to node 1's block; iperf3 on port 5202, then put back)
# Also counts the packets with a pod address in plain sight on node 1's underlay port meanwhile
# (the unmasqueraded reference runs on port 5202 excepted: they carry the pod address by design).
# Brings a 2-node cluster up (and down at the end) unless one is already running.
# Usage: bench/egress.sh [R=3]   (root; after scripts/install-deps.sh and mvn package)
set -euo pipefail
R="${1:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/local/common.sh"
LOCAL="$ROOT/bin/wiremesh-local"
SECS=5
N2_IP=$(wml_node_ip 2)
N2_PORT=5201
tmp=$(mktemp -d)
owned= dump=
cleanup() {
  set +e
  [ -n "$dump" ] && { kill "$dump" 2>/dev/null; wait "$dump" 2>/dev/null; }
  # A run interrupted while the table was set aside puts it back.
  [ -s "$tmp/wiremesh.nft" ] && ! nsenter --net=/run/netns/wml-n1 nft list table inet wiremesh >/dev/null 2>&1 && nat_on
  wml_stop bench-egress-iperf3-n2 bench-egress-iperf3-ref
  if [ -n "$owned" ]; then "$LOCAL" down >/dev/null 2>&1; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ ! -f "$WML_DIR/admin.kubeconfig" ]; then
  owned=1
  "$LOCAL" up --nodes 2 --pods 1 >/dev/null
fi
[ -e /run/netns/wml-n2 ] && [ -e "/run/netns/$WML_WORLD" ] || { echo "egress.sh: needs nodes wml-n1, wml-n2 and $WML_WORLD" >&2; exit 1; }

# kubectl exec with a deadline, so a path that stalls costs a failed figure, not the run.
kx() { timeout $((SECS + 30)) "$WML_BIN/kubectl" --kubeconfig "$WML_DIR/admin.kubeconfig" -n "$WML_TEST_NS" exec "$@"; }
pod2=$(wml_kubectl -n "$WML_TEST_NS" get pod test-n2-1 -o jsonpath='{.status.podIP}')
[ -n "$pod2" ] || { echo "egress.sh: test pod test-n2-1 has no address" >&2; exit 1; }

# iperf3 server on node 2's own address, in node 2's network namespace (recorded, stopped by cleanup).
wml_start bench-egress-iperf3-n2 nsenter --net=/run/netns/wml-n2 iperf3 -s -B "$N2_IP" -p "$N2_PORT"
wml_wait 15 "iperf3 on $N2_IP:$N2_PORT" wml_listening wml-n2 "$N2_IP:$N2_PORT"

# The reference without masquerade: a second iperf3 in the outside world, and a way to set the table aside.
wml_start bench-egress-iperf3-ref nsenter --net="/run/netns/$WML_WORLD" iperf3 -s -B "$WML_OUTSIDE_IP" -p 5202
wml_wait 15 "iperf3 on $WML_OUTSIDE_IP:5202" wml_listening "$WML_WORLD" "$WML_OUTSIDE_IP:5202"
block1=$(wml_kubectl get wireguardnode default.wml-n1 -o jsonpath='{.spec.podCIDRs[0]}')
N1_IP=$(wml_node_ip 1)
nsenter --net=/run/netns/wml-n1 nft list table inet wiremesh >"$tmp/wiremesh.nft"
nat_off() {
  nsenter --net=/run/netns/wml-n1 nft delete table inet wiremesh
  ip -n "$WML_WORLD" route add "$block1" via "$WML_WORLD_GW"
  ip -n "$WML_UL" route add "$block1" via "$N1_IP"
}
nat_on() {
  ip -n "$WML_UL" route del "$block1" via "$N1_IP" 2>/dev/null
  ip -n "$WML_WORLD" route del "$block1" via "$WML_WORLD_GW" 2>/dev/null
  nsenter --net=/run/netns/wml-n1 nft -f "$tmp/wiremesh.nft"
}

# Node 1's underlay port, everything with a pod address in its IP header (not the reference runs: capturing
# them would slow them down).
nsenter --net="/run/netns/$WML_UL" tcpdump -i wml-n1-ul -n -U -w "$tmp/plain.pcap" "net $WML_POD_CIDR and not port 5202" >/dev/null 2>&1 &
dump=$!

# Mbit/s at the receiver, or nothing when the path fails.
rx() { awk '/receiver/{print $(NF-2)}'; }
run() {
  local opts=(-t "$SECS" -f m --connect-timeout 3000)
  case "$1" in
    pod-outside) kx test-n1-1 -- iperf3 -c "$WML_OUTSIDE_IP" -p 5201 "${opts[@]}" 2>/dev/null | rx ;;
    node-outside) timeout $((SECS + 30)) nsenter --net=/run/netns/wml-n1 iperf3 -c "$WML_OUTSIDE_IP" -p 5201 "${opts[@]}" 2>/dev/null | rx ;;
    pod-node2) kx test-n1-1 -- iperf3 -c "$N2_IP" -p "$N2_PORT" "${opts[@]}" 2>/dev/null | rx ;;
    pod-pod2) kx test-n1-1 -- iperf3 -c "$pod2" "${opts[@]}" 2>/dev/null | rx ;;
    pod-outside-routed) nat_off; kx test-n1-1 -- iperf3 -c "$WML_OUTSIDE_IP" -p 5202 "${opts[@]}" 2>/dev/null | rx; nat_on ;;
  esac
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
label() {
  case "$1" in
    pod-outside) echo "test-n1-1 -> outside $WML_OUTSIDE_IP" ;;
    node-outside) echo "wml-n1 (node) -> outside $WML_OUTSIDE_IP" ;;
    pod-node2) echo "test-n1-1 -> node wml-n2 $N2_IP" ;;
    pod-pod2) echo "test-n1-1 -> test-n2-1 $pod2" ;;
    pod-outside-routed) echo "test-n1-1 -> outside, routed, no NAT" ;;
  esac
}

kx test-n1-1 -- iperf3 -c "$pod2" -t 1 >/dev/null 2>&1 || true   # warm-up (handshake, JIT)

declare -A T
failed=0
printf "%-5s %-40s %s\n" round path "TCP(Mbit/s)"
for r in $(seq 1 "$R"); do
  # Alternate which one of each pair goes first, so drift in the machine's load favours neither.
  order="pod-outside node-outside pod-outside-routed pod-node2 pod-pod2"
  [ $((r % 2)) -eq 0 ] && order="pod-outside-routed node-outside pod-outside pod-pod2 pod-node2"
  for p in $order; do
    t=$(run "$p" || true)
    if [ -z "$t" ]; then t=FAILED; failed=$((failed + 1)); else T[$p]+="$t "; fi
    printf "%-5s %-40s %s\n" "$r" "$(label "$p")" "$t"
  done
done
sleep 1
kill "$dump" 2>/dev/null || true; wait "$dump" 2>/dev/null || true; dump=
plain=$(tcpdump -r "$tmp/plain.pcap" -n 2>/dev/null | wc -l)
plain_out=$(tcpdump -r "$tmp/plain.pcap" -n "host $WML_OUTSIDE_IP" 2>/dev/null | wc -l)
plain_n2=$(tcpdump -r "$tmp/plain.pcap" -n "host $N2_IP" 2>/dev/null | wc -l)

med() { echo ${T[$1]:-} | tr ' ' '\n' | awk NF | median; }
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; else echo "n/a"; fi; }
declare -A M
for p in pod-outside node-outside pod-outside-routed pod-node2 pod-pod2; do M[$p]=$(med "$p"); done
echo
printf "%-40s %-12s %s\n" "median of $R" "TCP(Mbit/s)" "ratio"
printf "%-40s %-12s\n" "$(label node-outside)" "${M[node-outside]:-FAILED}"
printf "%-40s %-12s %s\n" "$(label pod-outside)" "${M[pod-outside]:-FAILED}" "pod/node $(ratio "${M[pod-outside]}" "${M[node-outside]}")"
printf "%-40s %-12s %s\n" "$(label pod-outside-routed)" "${M[pod-outside-routed]:-FAILED}" "masquerade/routed $(ratio "${M[pod-outside]}" "${M[pod-outside-routed]}")"
printf "%-40s %-12s\n" "$(label pod-pod2)" "${M[pod-pod2]:-FAILED}"
printf "%-40s %-12s %s\n" "$(label pod-node2)" "${M[pod-node2]:-FAILED}" "to node/to pod $(ratio "${M[pod-node2]}" "${M[pod-pod2]}")"
echo
echo "packets with a pod address in plain sight on wml-n1's underlay port during the runs: $plain ($plain_out with $WML_OUTSIDE_IP, $plain_n2 with $N2_IP)"
[ "$failed" -eq 0 ] || { echo "$failed measurement(s) failed" >&2; exit 1; }
