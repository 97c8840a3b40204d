#!/usr/bin/env bash
# Datapath benchmark: TCP throughput (iperf3, 1 and 4 streams) and ping RTT through
#   java: Java <-> Java (bin/wiremesh-wg), go23: the current wireguard-go (bookworm-backports, the reference),
#   go: Debian bookworm's wireguard-go, veth: the plain underlay,
# each between two namespaces, measured interleaved (java, go23, go, veth, java, ...) ROUNDS times.
# Prints every sample, the medians and the ratios java/go23, java/go and java/veth.
# Usage: bench/datapath.sh [ROUNDS=3] [SECONDS=10]     (root; after mvn package)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/tunnel.sh"
ROUNDS="${1:-3}"; SECS="${2:-10}"
WM_PREFIX=wm-bench-
trap wm_cleanup EXIT
[ -f "$WM_ROOT/wireguard/target/wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar" ] || {
  echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }

wm_tunnel java ja wmbja java jb wmbjb 198.18.20 10.204.0
wm_tunnel go ga wmbga go gb wmbgb 198.18.21 10.205.0
WM_GO_CURRENT=$("$WM_ROOT/scripts/wireguard-go-current.sh")
wm_tunnel go23 ca wmbca go23 cb wmbcb 198.18.25 10.208.0
wm_pair va vb 198.18.22
declare -A target=([java]=10.204.0.2 [go]=10.205.0.2 [go23]=10.208.0.2 [veth]=198.18.22.2)
declare -A client=([java]=ja [go]=ga [go23]=ca [veth]=va) server=([java]=jb [go]=gb [go23]=cb [veth]=vb)
# warm-up (JIT, handshakes)
wm_iperf ja jb 10.204.0.2 3 1 >/dev/null; wm_iperf ga gb 10.205.0.2 1 1 >/dev/null; wm_iperf ca cb 10.208.0.2 1 1 >/dev/null

out="$WM_TMP/samples"; : >"$out"
echo "round path  tput1(Gbit/s) tput4(Gbit/s) rtt(ms)"
for r in $(seq "$ROUNDS"); do
  for p in java go23 go veth; do
    wm_sample "$r" "$p" "${client[$p]}" "${server[$p]}" "${target[$p]}" "$SECS" "$out"
  done
done
med() { awk -v p="$1" -v c="$2" '$1==p {print $c}' "$out" | wm_median; }
echo
echo "median over $ROUNDS rounds ($(nproc) cores, $(date -u +%F)):"
printf "%-5s %13s %13s %9s\n" path tput1 tput4 rtt_ms
for p in java go23 go veth; do printf "%-5s %13s %13s %9s\n" "$p" "$(med "$p" 2)" "$(med "$p" 3)" "$(med "$p" 4)"; done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
echo
echo "java/go23: tput1 $(ratio "$(med java 2)" "$(med go23 2)")x  tput4 $(ratio "$(med java 3)" "$(med go23 3)")x  rtt $(ratio "$(med java 4)" "$(med go23 4)")x   (the current wireguard-go: the reference)"
echo "java/go:   tput1 $(ratio "$(med java 2)" "$(med go 2)")x  tput4 $(ratio "$(med java 3)" "$(med go 3)")x  rtt $(ratio "$(med java 4)" "$(med go 4)")x"
echo "java/veth: tput1 $(ratio "$(med java 2)" "$(med veth 2)")x  tput4 $(ratio "$(med java 3)" "$(med veth 3)")x  rtt $(ratio "$(med java 4)" "$(med veth 4)")x"
