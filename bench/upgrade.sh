#!/usr/bin/env bash
# What a `helm upgrade` costs pod traffic on the local cluster (bin/wiremesh-local): pings at 10/s between pods on
# two nodes (both ways) and one TCP stream (iperf3, 20 Mbit/s, 1 s intervals) run through each upgrade. Per
# upgrade: pings lost, the longest run of lost pings (ms), the TCP stream's longest interval without data (s) and
# whether its connection survived, and how long the upgrade took. Upgrades, in order, R rounds:
#   java-bump     Java datapath: a change of every workload's pod template (the pull policy, as an image bump)
#   java-back     and back
#   to-go         switch the datapath to wireguard-go (a different implementation cannot take over)
#   go-bump       wireguard-go datapath: the same change of every pod template
#   go-back       and back
#   to-java       switch back to the Java datapath
# Brings a 2-node cluster up (and down at the end) unless one is already running.
# Usage: bench/upgrade.sh [R=1] [UPGRADE...]   (root; after scripts/install-deps.sh and mvn package; UPGRADEs: a subset, in
# their order above, e.g. "1 to-go go-bump go-back to-java")
set -euo pipefail
R="${1:-1}"
shift || true
KINDS="${*:-java-bump java-back to-go go-bump go-back to-java}"
. "$(dirname "${BASH_SOURCE[0]}")/local-cluster.sh"
W=$(mktemp -d /tmp/wm-upgrade.XXXXXX)
cleanup() {
  release_cluster
  rm -rf "$W"
}
trap cleanup EXIT

k() { wml_kubectl -n "$WML_TEST_NS" "$@"; }
ip1=$(k get pod test-n1-1 -o jsonpath='{.status.podIP}')
ip2=$(k get pod test-n2-1 -o jsonpath='{.status.podIP}')

# Longest run of unanswered probes (in ms at 10/s) in a ping output (the test pods' busybox ping: seq=0..COUNT-1).
longest_gap() {
  awk -v n="$2" '/ seq=/{match($0, / seq=[0-9]+/); s[substr($0, RSTART + 5, RLENGTH - 5)] = 1}
    END {run = 0; best = 0; for (i = 0; i < n; i++) {if (i in s) run = 0; else {run++; if (run > best) best = run}} print best * 100}' "$1"
}

measure() { # NAME VALUES...
  local name="$1"; shift
  # 90 s of pings both ways (the longest upgrade here takes about a minute), and a 60 s stream, all started first.
  k exec test-n1-1 -- ping -c 900 -i 0.1 -W 2 "$ip2" > "$W/fwd" 2>&1 & local p1=$!
  k exec test-n2-1 -- ping -c 900 -i 0.1 -W 2 "$ip1" > "$W/back" 2>&1 & local p2=$!
  k exec test-n1-1 -- iperf3 -c "$ip2" -t 60 -b 20M -i 1 > "$W/tcp" 2>&1 & local p3=$!
  sleep 3
  local t0=$SECONDS
  "$LOCAL" upgrade "$@" >/dev/null 2>&1
  local took=$((SECONDS - t0))
  local tcp_ok=yes; wait $p3 || tcp_ok=no
  wait $p1 || true; wait $p2 || true
  local lost=0 f n
  for f in fwd back; do
    n=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p' "$W/$f" | awk '{print 900 - $2}')
    lost=$((lost + ${n:-900})) # no summary: the ping itself broke, all of it counts as lost
  done
  local gap; gap=$(( $(longest_gap "$W/fwd" 900) > $(longest_gap "$W/back" 900) ? $(longest_gap "$W/fwd" 900) : $(longest_gap "$W/back" 900) ))
  # The longest run of 1 s intervals that carried nothing.
  local stall; stall=$(awk '/sec/ && / 0\.00 bits\/sec/ {run++; if (run > best) best = run; next} /sec/ {run = 0} END {print best + 0}' "$W/tcp")
  printf "%-12s %-11s %-14s %-16s %-10s %s\n" "$name" "$lost" "$gap" "$stall" "$tcp_ok" "$took"
}

echo "upgrade      pings-lost  longest-gap(ms) tcp-stall(s)     tcp-intact upgrade(s)"
for r in $(seq 1 "$R"); do
  for kind in $KINDS; do
    case "$kind" in
      java-bump) measure java-bump image.pullPolicy=IfNotPresent ;;
      java-back) measure java-back ;;
      to-go) measure to-go datapath.implementation=wireguard-go ;;
      go-bump) measure go-bump datapath.implementation=wireguard-go image.pullPolicy=IfNotPresent ;;
      go-back) measure go-back datapath.implementation=wireguard-go ;;
      to-java) measure to-java ;;
      *) echo "unknown upgrade $kind" >&2; exit 2 ;;
    esac
  done
done
