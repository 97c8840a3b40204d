#!/usr/bin/env bash
# Datapath benchmark: TCP throughput (iperf3, 1 and 4 streams) and ping RTT through
#   java: Java <-> Java (bin/wiremesh-wg), go23: the current wireguard-go (bookworm-backports, the reference),
#   go: Debian bookworm's wireguard-go, veth: the plain underlay,
# each between two namespaces, measured interleaved (java, go23, go, veth, java, ...) ROUNDS times.
# Also, per tunnel: CPU seconds of both datapath processes per GB carried (over each round's transfers),
# and their memory (mean RSS of the two ends): idle after start, peak (VmHWM), and after the rounds.
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
declare -A pids=([java]="${WM_PID_OF[wmbja]} ${WM_PID_OF[wmbjb]}" [go]="${WM_PID_OF[wmbga]} ${WM_PID_OF[wmbgb]}"
                 [go23]="${WM_PID_OF[wmbca]} ${WM_PID_OF[wmbcb]}")
sleep 2
declare -A idle
for p in java go23 go; do idle[$p]=$(wm_mem VmRSS ${pids[$p]}); done
declare -A target=([java]=10.204.0.2 [go]=10.205.0.2 [go23]=10.208.0.2 [veth]=198.18.22.2)
declare -A client=([java]=ja [go]=ga [go23]=ca [veth]=va) server=([java]=jb [go]=gb [go23]=cb [veth]=vb)
# warm-up (JIT, handshakes)
wm_iperf ja jb 10.204.0.2 3 1 >/dev/null; wm_iperf ga gb 10.205.0.2 1 1 >/dev/null; wm_iperf ca cb 10.208.0.2 1 1 >/dev/null

out="$WM_TMP/samples"; : >"$out"; cpu="$WM_TMP/cpu"; : >"$cpu"
echo "round path  tput1(Gbit/s) tput4(Gbit/s) rtt(ms)"
for r in $(seq "$ROUNDS"); do
  for p in java go23 go veth; do
    [ "$p" = veth ] || c0=$(wm_cpu ${pids[$p]})
    wm_sample "$r" "$p" "${client[$p]}" "${server[$p]}" "${target[$p]}" "$SECS" "$out"
    if [ "$p" != veth ]; then
      c1=$(wm_cpu ${pids[$p]})
      # GB carried in this round's two transfers: (tput1 + tput4) Gbit/s x SECS / 8
      tail -1 "$out" | awk -v p="$p" -v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}')" -v s="$SECS" \
        '{gb = ($2 + $3) * s / 8; if (gb > 0) printf "%s %.2f\n", p, c / gb}' >>"$cpu"
    fi
  done
done
med() { awk -v p="$1" -v c="$2" '$1==p {print $c}' "$out" | wm_median; }
echo
echo "median over $ROUNDS rounds ($(nproc) cores, $(date -u +%F)):"
printf "%-5s %13s %13s %9s\n" path tput1 tput4 rtt_ms
for p in java go23 go veth; do printf "%-5s %13s %13s %9s\n" "$p" "$(med "$p" 2)" "$(med "$p" 3)" "$(med "$p" 4)"; done
echo
echo "datapath cost (both ends): CPU s per GB carried (median), memory MB per process (idle / peak / after)"
for p in java go23 go; do
  printf "%-5s %8s s/GB   %5s / %5s / %5s MB\n" "$p" "$(awk -v p="$p" '$1==p {print $2}' "$cpu" | wm_median)" \
    "${idle[$p]}" "$(wm_mem VmHWM ${pids[$p]})" "$(wm_mem VmRSS ${pids[$p]})"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
echo
cpumed() { awk -v p="$1" '$1==p {print $2}' "$cpu" | wm_median; }
echo "java/go23: tput1 $(ratio "$(med java 2)" "$(med go23 2)")x  tput4 $(ratio "$(med java 3)" "$(med go23 3)")x  rtt $(ratio "$(med java 4)" "$(med go23 4)")x  cpu/GB $(ratio "$(cpumed java)" "$(cpumed go23)")x   (the current wireguard-go: the reference)"
echo "java/go:   tput1 $(ratio "$(med java 2)" "$(med go 2)")x  tput4 $(ratio "$(med java 3)" "$(med go 3)")x  rtt $(ratio "$(med java 4)" "$(med go 4)")x"
echo "java/veth: tput1 $(ratio "$(med java 2)" "$(med veth 2)")x  tput4 $(ratio "$(med java 3)" "$(med veth 3)")x  rtt $(ratio "$(med java 4)" "$(med veth 4)")x"
