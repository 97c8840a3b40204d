#!/usr/bin/env bash
# A/B of the Java datapath against an earlier commit: builds REF's wiremesh-wg in a throwaway git
# worktree, then measures TCP throughput (iperf3, 1 and 4 streams) and ping RTT through
#   new: this tree's bin/wiremesh-wg <-> itself, ref: REF's <-> itself,
# two namespaces each, interleaved (new, ref, new, ...) ROUNDS times. Prints every sample, the medians
# and new/ref. For changes whose cost must be shown against what they replace.
# Usage: bench/datapath-ab.sh REF [ROUNDS=5] [SECONDS=8]     (root; after mvn package)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/tunnel.sh"
REF="${1:?usage: bench/datapath-ab.sh REF [ROUNDS] [SECONDS]}"; ROUNDS="${2:-5}"; SECS="${3:-8}"
WM_PREFIX=wm-ab-
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
NEW="$WM_ROOT"
REFTREE="$(mktemp -d /tmp/wm-ab-ref.XXXXXX)"
cleanup() { wm_cleanup; git -C "$NEW" worktree remove --force "$REFTREE" >/dev/null 2>&1 || rm -rf "$REFTREE"; }
trap cleanup EXIT
[ -f "$NEW/wireguard/target/wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar" ] || {
  echo "build first: JAVA_HOME=$JAVA_HOME mvn -B package -DskipTests" >&2; exit 1; }
echo "building $REF ($(git -C "$NEW" rev-parse --short "$REF")) in $REFTREE" >&2
git -C "$NEW" worktree add --detach "$REFTREE" "$REF" >/dev/null 2>&1
(cd "$REFTREE" && mvn -B -q -o package -DskipTests -pl wireguard >&2)

WM_ROOT="$NEW" wm_tunnel java na wmabna java nb wmabnb 198.18.23 10.206.0
WM_ROOT="$REFTREE" wm_tunnel java ra wmabra java rb wmabrb 198.18.24 10.207.0
declare -A target=([new]=10.206.0.2 [ref]=10.207.0.2) client=([new]=na [ref]=ra) server=([new]=nb [ref]=rb)
wm_iperf na nb 10.206.0.2 3 1 >/dev/null; wm_iperf ra rb 10.207.0.2 3 1 >/dev/null  # warm-up (JIT, handshakes)

out="$WM_TMP/samples"; : >"$out"
echo "round path tput1(Gbit/s) tput4(Gbit/s) rtt(ms)"
for r in $(seq "$ROUNDS"); do
  for p in new ref; do
    wm_sample "$r" "$p" "${client[$p]}" "${server[$p]}" "${target[$p]}" "$SECS" "$out"
  done
done
med() { awk -v p="$1" -v c="$2" '$1==p {print $c}' "$out" | wm_median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
echo
echo "median over $ROUNDS rounds ($(nproc) cores, $(date -u +%F)), ref = $REF:"
printf "%-4s %13s %13s %9s\n" path tput1 tput4 rtt_ms
for p in new ref; do printf "%-4s %13s %13s %9s\n" "$p" "$(med "$p" 2)" "$(med "$p" 3)" "$(med "$p" 4)"; done
echo "new/ref: tput1 $(ratio "$(med new 2)" "$(med ref 2)"), tput4 $(ratio "$(med new 3)" "$(med ref 3)"), rtt $(ratio "$(med new 4)" "$(med ref 4)")"
