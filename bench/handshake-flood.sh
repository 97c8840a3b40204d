#!/usr/bin/env bash
# Handshake flood: a flooder namespace sends handshake initiations with a valid MAC1 and no MAC2
# (bench/flood.py) at RATE/s for SECONDS to a responder: the Java datapath (bin/wiremesh-wg), the
# current wireguard-go (bookworm-backports, "go23", the reference) and Debian's bookworm wireguard-go
# ("go"), interleaved, ROUNDS times per rate. Under load a responder must answer
# with cookie replies (whitepaper 5.3) instead of a Diffie-Hellman computation per message.
# Prints per sample: cookie-reply share, initiations not answered with a cookie (each one a DH at most),
# the responder's CPU (% of one core) and, for Java, the Diffie-Hellman computations it counted itself
# (its /metrics: initiations that reached the Noise step, i.e. unknown_peer + bad_handshake drops) and
# the initiations it dropped unread because its handshake queue was full (queue_full);
# then medians per rate and implementation.
# Usage: bench/handshake-flood.sh [ROUNDS=3] [SECONDS=5] [RATES="20000 50000"]   (root; after mvn package)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/tunnel.sh"
ROUNDS="${1:-3}"; SECS="${2:-5}"; RATES="${3:-20000 50000}"
WM_PREFIX=wm-flood-
trap wm_cleanup EXIT
[ -f "$WM_ROOT/wireguard/target/wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar" ] || {
  echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }

WM_GO_CURRENT=$("$WM_ROOT/scripts/wireguard-go-current.sh")
wm_pair f r 198.18.30
wg genkey >"$WM_TMP/r.key"; pub=$(wg pubkey <"$WM_TMP/r.key")
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The Java datapath's own counts during a flood, from its Prometheus metrics: "DH-computations queue-full-drops".
java_counts() {
  ip netns exec "${WM_PREFIX}r" curl -sf http://127.0.0.1:9467/metrics | awk '
    /^wiremesh_wg_dropped_total\{.*reason="(unknown_peer|bad_handshake)"/ {dh += $2}
    /^wiremesh_wg_dropped_total\{.*reason="queue_full"/ {qf += $2}
    END {printf "%d %d", dh, qf}'
}

# flood IMPL RATE -> "share unanswered cpu% sent dh queue_full"
flood() {
  local impl="$1" rate="$2" ifname="wmfl$1" pid before after out sent cookies counts="- -"
  WIREMESH_WG_METRICS=127.0.0.1:9467 wm_start "$impl" r "$ifname"
  pid="${WM_PIDS[-1]}"
  ip netns exec "${WM_PREFIX}r" wg set "$ifname" private-key "$WM_TMP/r.key" listen-port 51820
  ip -n "${WM_PREFIX}r" link set "$ifname" up
  sleep 1
  before=$(cpu "$pid")
  out=$(ip netns exec "${WM_PREFIX}f" /usr/bin/python3 "$WM_ROOT/bench/flood.py" 198.18.30.2 51820 "$pub" "$rate" "$SECS")
  after=$(cpu "$pid")
  if [ "$impl" = java ]; then counts=$(java_counts); fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "/var/run/wireguard/$ifname.sock"
  sent=$(awk '{print $2}' <<<"$out"); cookies=$(awk '{print $4}' <<<"$out")
  awk -v s="$sent" -v c="$cookies" -v t=$((after - before)) -v hz="$ticks" -v d="$SECS" -v counts="$counts" \
    'BEGIN {printf "%.3f %d %.0f %d %s\n", c / s, s - c, 100 * t / hz / (d + 1), s, counts}'
}

out="$WM_TMP/samples"; : >"$out"
printf "%-5s %-6s %-6s %10s %12s %12s %8s %8s %10s\n" round impl rate sent cookie_share not_cookied cpu% dh queue_full
for r in $(seq "$ROUNDS"); do
  for rate in $RATES; do
    order="java go23 go"; [ $((r % 2)) -eq 0 ] && order="go go23 java"
    for impl in $order; do
      read -r share unanswered cpu sent dh qf < <(flood "$impl" "$rate")
      printf "%-5s %-6s %-6s %10s %12s %12s %8s %8s %10s\n" "$r" "$impl" "$rate" "$sent" "$share" "$unanswered" "$cpu" "$dh" "$qf"
      echo "$impl $rate $share $unanswered $cpu $dh $qf" >>"$out"
    done
  done
done
echo
echo "median over $ROUNDS rounds ($(nproc) cores, $(date -u +%F)); go23 = wireguard-go $("$WM_GO_CURRENT" --version 2>&1 | head -1 | awk '{print $NF}'), go = $(wireguard-go --version 2>&1 | head -1 | awk '{print $NF}')"
printf "%-6s %-6s %12s %12s %8s %8s %10s\n" impl rate cookie_share not_cookied cpu% dh queue_full
for rate in $RATES; do
  for impl in java go23 go; do
    printf "%-6s %-6s %12s %12s %8s %8s %10s\n" "$impl" "$rate" \
      "$(awk -v i="$impl" -v r="$rate" '$1==i && $2==r {print $3}' "$out" | wm_median)" \
      "$(awk -v i="$impl" -v r="$rate" '$1==i && $2==r {print $4}' "$out" | wm_median)" \
      "$(awk -v i="$impl" -v r="$rate" '$1==i && $2==r {print $5}' "$out" | wm_median)" \
      "$(awk -v i="$impl" -v r="$rate" '$1==i && $2==r && $6 != "-" {print $6}' "$out" | wm_median)" \
      "$(awk -v i="$impl" -v r="$rate" '$1==i && $2==r && $7 != "-" {print $7}' "$out" | wm_median)"
  done
done
