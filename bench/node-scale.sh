#!/usr/bin/env bash
# One node of an N-node mesh: the packaged node-daemon and its Java datapath (bin/wiremesh-wg), in a network
# namespace of their own, against a real kube-apiserver 1.20.2 + etcd (loopback) holding the mesh's N
# WireGuardNodes: N-1 simulated nodes with real keys (wg genkey), a /24 block, an overlay and a node address and
# a published endpoint, written as the operator and their own daemons would (no operator runs). Measures:
#   - convergence: daemon start -> all N-1 peers in the interface (`wg show`) and their blocks routed;
#   - join / leave: one more node's status published and accepted into its spec (deleted) -> its peer and route
#     there (gone), median of R; the simulated nodes' keys are written into their specs as the operator accepts them;
#   - RSS (now and peak) and CPU seconds of the daemon and of the datapath;
#   - the reference, same run: the converged configuration written by `wg setconf` + `ip -batch` into a second
#     interface of the same datapath, and one peer + one route by `wg set` + `ip route replace`.
# The endpoints lead nowhere (no handshakes): this is the control plane's cost, not traffic.
# PSK_INTERVAL=10s: the post-quantum preshared keys too. The simulated nodes publish ML-KEM keys and run
# the other side of every pair (bench/.../PskPeers, the product's exchange code, their own keys; their
# overlay addresses are local addresses of the node's namespace, so the exchange runs over loopback
# rather than through WireGuard); the node under test (named sim-5x: it initiates with about half of its
# peers and answers the rest) measures the time until all pairs have a key, then CPU and API writes
# over three intervals, against its own idle CPU with the exchange off (the reference, same run).
# Usage: bench/node-scale.sh [N=1000] [R=5]   (after mvn package and scripts/install-deps.sh)
set -euo pipefail
N="${1:-1000}"; R="${2:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/apiserver.sh"
for f in node-daemon/target/wiremesh-node-daemon-0.1.0-SNAPSHOT-all.jar wireguard/target/wiremesh-wireguard-0.1.0-SNAPSHOT-all.jar; do
  [ -f "$ROOT/$f" ] || { echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }
done
W="$(mktemp -d /tmp/wiremesh-nodescale.XXXXXX)"
NS=wmns-node; IF=wmscale0; PORT=26454
PSK_INTERVAL="${PSK_INTERVAL:-}"
SELF=sim-0; [ -n "$PSK_INTERVAL" ] && SELF=sim-5x
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
PEERS_CP="$ROOT/node-daemon/target/wiremesh-node-daemon-0.1.0-SNAPSHOT-all.jar:$ROOT/bench/target/classes"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}" "${WM_API_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; sleep 1
  for p in "${PIDS[@]:-}" "${WM_API_PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -f "/var/run/wireguard/$IF.sock" "/var/run/wireguard/$IF.owner"
  [ -n "${KEEP:-}" ] && cp "$W/daemon.log" /tmp/node-scale-daemon.log; rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
GROUP=apis/wiremesh.io/v1alpha1
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14 + $15) / hz}' "/proc/$1/stat"; }
mem() { awk -v f="$1:" '$1 == f {printf "%d\n", $2 / 1024}' "/proc/$2/status"; }

echo "== control plane (etcd + kube-apiserver 1.20.2 on loopback)"
wm_apiserver "$W" "$PORT" 23795

echo "== $((N - 1)) simulated nodes with keys, blocks and endpoints"
for _ in $(seq 0 "$N"); do k=$(wg genkey); echo "$k $(echo "$k" | wg pubkey)"; done >"$W/wg.keys"
awk '{print $2}' "$W/wg.keys" >"$W/keys"
[ -n "$PSK_INTERVAL" ] && "$JAVA" -cp "$PEERS_CP" io.wiremesh.bench.PskPeers gen "$W" "$N"
python3 - "$N" "$W" "$SELF" <<'PY'
import json, os, sys
n, w, me = int(sys.argv[1]), sys.argv[2], sys.argv[3]
keys = open(f"{w}/keys").read().split()
kem = open(f"{w}/kem.pub").read().split() if os.path.exists(f"{w}/kem.pub") else []
def block(i): return f"10.{64 + i // 256}.{i % 256}"
def addr(i): return f"10.251.{i // 200}.{i % 200 + 10}"
with open(f"{w}/nodes.jsonl", "w") as objs, open(f"{w}/status.jsonl", "w") as sts:
    for i in range(0, n + 1):  # 0: the node under test; n: the one that joins and leaves
        name = me if i == 0 else f"sim-{i}"
        spec = {"mesh": "scale", "nodeName": name, "podCIDRs": [f"{block(i)}.0/24"], "overlayAddresses": [f"{block(i)}.1"],
                "nodeAddresses": ["10.250.0.1" if i == 0 else addr(i)]}
        obj = {"apiVersion": "wiremesh.io/v1alpha1", "kind": "WireGuardNode",
               "metadata": {"name": f"scale.{name}", "labels": {"wiremesh.io/mesh": "scale"}}, "spec": spec}
        st = {"status": {"publicKey": keys[i], "endpoints": [f"{addr(i)}:51820"], "listenPort": 51820, "datapath": "userspace",
                         "conditions": [{"type": "Ready", "status": "True", "reason": "Configured", "message": "simulated",
                                         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
        if kem and 0 < i < n: st["status"]["kemPublicKey"] = kem[i - 1]
        if 0 < i < n:  # what the operator accepts from a node's signed proposal: peers are built from the spec
            spec.update({k: v for k, v in st["status"].items() if k in ("publicKey", "endpoints", "kemPublicKey")})
        line = json.dumps(obj)
        if i == n:
            open(f"{w}/joiner.json", "w").write(line); open(f"{w}/joiner-status.json", "w").write(json.dumps(st))
            open(f"{w}/joiner-accept.json", "w").write(json.dumps({"spec": {"publicKey": keys[i], "endpoints": st["status"]["endpoints"]}}))
        else: objs.write(line + "\n")
        if 0 < i < n: sts.write(f"scale.{name}\t{json.dumps(st)}\n")
    open(f"{w}/joiner.key", "w").write(keys[n]); open(f"{w}/joiner.block", "w").write(f"{block(n)}.0/24")
PY
PSK_SPEC='"presharedKeys":{"enabled":false}'
[ -n "$PSK_INTERVAL" ] && PSK_SPEC='"presharedKeys":{"enabled":false,"interval":"'"$PSK_INTERVAL"'"}'
wm_k -X POST -H "Content-Type: application/json" "$API/$GROUP/wireguardmeshes" -o /dev/null --data \
  '{"apiVersion":"wiremesh.io/v1alpha1","kind":"WireGuardMesh","metadata":{"name":"scale"},"spec":{"podCIDRs":["10.64.0.0/12"],"listenPort":51820,'"$PSK_SPEC"'}}'
t0=$(now)
xargs -P 16 -d '\n' -I{} curl -sS -k -o /dev/null -H "Authorization: Bearer $WM_API_TOKEN" -H "Content-Type: application/json" \
  -X POST --data '{}' "$API/$GROUP/wireguardnodes" <"$W/nodes.jsonl"
awk -F'\t' '{print $1}' "$W/status.jsonl" >"$W/names"
awk -F'\t' '{print $2}' "$W/status.jsonl" >"$W/bodies"
paste -d'\n' "$W/names" "$W/bodies" | xargs -P 16 -d '\n' -n 2 sh -c 'curl -sS -k -o /dev/null -H "Authorization: Bearer '"$WM_API_TOKEN"'" \
  -H "Content-Type: application/merge-patch+json" -X PATCH --data "$1" "'"$API/$GROUP"'/wireguardnodes/$0/status"'
echo "   $N WireGuardNodes and $((N - 1)) statuses written in $(since "$t0") s"

echo "== the node: a namespace with an underlay address, its datapath and its node-daemon"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add wmsu0 type veth peer name wmsu1
ip -n "$NS" addr add 10.250.0.1/16 dev wmsu0
ip -n "$NS" link set wmsu0 up; ip -n "$NS" link set wmsu1 up
# The API server listens on the root namespace's loopback: reach it through a unix socket.
socat "UNIX-LISTEN:$W/api.sock,fork,mode=600" "TCP:127.0.0.1:$PORT" & PIDS+=("$!")
ip netns exec "$NS" socat "TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$W/api.sock" & PIDS+=("$!")
ip netns exec "$NS" "$ROOT/bin/wiremesh-wg" -f "$IF" >"$W/datapath.log" 2>&1 & WG=$!; PIDS+=("$WG")
for _ in $(seq 200); do [ -S "/var/run/wireguard/$IF.sock" ] && break; sleep 0.05; done
peers() { ip netns exec "$NS" wg show "$IF" peers 2>/dev/null | wc -l; }
routes() { ip -n "$NS" route show dev "$IF" 2>/dev/null | grep -c '^10\.' || true; }
t0=$(now)
KUBECONFIG="$W/kubeconfig" ip netns exec "$NS" "$ROOT/bin/wiremesh-node-daemon" --mesh scale --node-name "$SELF" --node-ip 10.250.0.1 \
  --interface "$IF" --state-dir "$W/state" --cni-socket "$W/cni.sock" --status-address 127.0.0.1:19465 >"$W/daemon.log" 2>&1 & D=$!; PIDS+=("$D")
first=""
while :; do
  kill -0 "$D" 2>/dev/null || { echo "node-daemon died:" >&2; tail -20 "$W/daemon.log" >&2; exit 1; }
  p=$(peers)
  [ -z "$first" ] && [ "$p" -gt 0 ] && first=$(since "$t0")
  [ "$p" -ge $((N - 1)) ] && [ "$(routes)" -ge $((N - 1)) ] && break
  sleep 0.05
done
converge=$(since "$t0")
cpu_d0=$(cpu "$D"); cpu_w0=$(cpu "$WG")
echo "   converged: $((N - 1)) peers and routes ${converge} s after the daemon started (first peer at ${first} s)"
sleep 5

echo "== $R joins and leaves"
key=$(cat "$W/joiner.key"); block=$(cat "$W/joiner.block")
joins=(); leaves=()
for r in $(seq "$R"); do
  wm_k -X POST -H "Content-Type: application/json" -o /dev/null --data @"$W/joiner.json" "$API/$GROUP/wireguardnodes"
  sleep 1
  t0=$(now)
  wm_k -X PATCH -H "Content-Type: application/merge-patch+json" -o /dev/null --data @"$W/joiner-status.json" \
    "$API/$GROUP/wireguardnodes/scale.sim-$N/status"
  # The operator's acceptance of the (signed) proposal: the spec the other nodes peer with.
  wm_k -X PATCH -H "Content-Type: application/merge-patch+json" -o /dev/null --data @"$W/joiner-accept.json" \
    "$API/$GROUP/wireguardnodes/scale.sim-$N"
  until ip -n "$NS" route show "$block" dev "$IF" | grep -q . && ip netns exec "$NS" wg show "$IF" allowed-ips | grep -q "^$key"; do :; done
  joins+=("$(since "$t0")")
  sleep 1
  t0=$(now)
  wm_k -X DELETE -o /dev/null "$API/$GROUP/wireguardnodes/scale.sim-$N"
  while ip -n "$NS" route show "$block" dev "$IF" | grep -q . || ip netns exec "$NS" wg show "$IF" allowed-ips | grep -q "^$key"; do :; done
  leaves+=("$(since "$t0")")
  sleep 1
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
echo "   join:  ${joins[*]} s"
echo "   leave: ${leaves[*]} s"
probe=$(python3 -c "import time,subprocess; t=time.time(); [subprocess.run(['ip','netns','exec','$NS','wg','show','$IF','allowed-ips'],capture_output=True) for _ in range(5)]; print(f'{(time.time()-t)/5:.3f}')")
cpu_d1=$(cpu "$D"); cpu_w1=$(cpu "$WG")
sleep 10
cpu_d2=$(cpu "$D"); cpu_w2=$(cpu "$WG")

echo "== reference: the same configuration written by the tools, into a second interface of the same datapath"
# What the daemon converged to, without its private key's port: `wg setconf` of every peer at once and one
# `ip -batch` of every route (table 100: the daemon's routes stay), then one peer and one route as a join's.
ip netns exec "$NS" wg showconf "$IF" | grep -v '^ListenPort' >"$W/ref.conf"
ip -n "$NS" route show dev "$IF" | awk '/^10\./ {print "route replace " $1 " dev wmref0 table 100"}' >"$W/ref.routes"
ip netns exec "$NS" "$ROOT/bin/wiremesh-wg" -f wmref0 >"$W/ref-datapath.log" 2>&1 & REF=$!; PIDS+=("$REF")
for _ in $(seq 200); do [ -S /var/run/wireguard/wmref0.sock ] && break; sleep 0.05; done
ip -n "$NS" link set wmref0 up
refs=(); ref_joins=()
for r in $(seq "$R"); do
  t0=$(now)
  ip netns exec "$NS" wg setconf wmref0 "$W/ref.conf"
  ip -n "$NS" -batch "$W/ref.routes"
  refs+=("$(since "$t0")")
  t0=$(now)
  ip netns exec "$NS" wg set wmref0 peer "$key" allowed-ips "$block" endpoint 10.250.9.9:51820
  ip -n "$NS" route replace "$block" dev wmref0 table 100
  ref_joins+=("$(since "$t0")")
  ip netns exec "$NS" wg set wmref0 peer "$key" remove
done
kill "$REF" 2>/dev/null || true
ref=$(median "${refs[@]}"); ref_join=$(median "${ref_joins[@]}")

echo
echo "result ($(nproc) cores, $(date -u +%F)), one node of a $N-node mesh, Java datapath:"
echo "   convergence (daemon start -> $((N - 1)) peers + routes): $converge s   (first peer after $first s)"
echo "      reference, same run: 'wg setconf' of the same $((N - 1)) peers + 'ip -batch' of their routes: $ref s (median of $R);" \
  "ratio $(python3 -c "print(f'{$converge / $ref:.1f}')")x (the daemon's figure includes its JVM start and the API list)"
echo "   join  (status and accepted spec written -> peer + route), median of $R: $(median "${joins[@]}") s"
echo "      reference, same run: one 'wg set' + one 'ip route replace': $ref_join s; ratio" \
  "$(python3 -c "print(f'{$(median "${joins[@]}") / $ref_join:.1f}')")x (the daemon's figure includes the API server's watch)"
echo "   leave (object deleted -> peer + route gone), median of $R: $(median "${leaves[@]}") s"
echo "   (the probe itself, one 'wg show allowed-ips' of $((N - 1)) peers: $probe s)"
echo "   node-daemon: RSS $(mem VmRSS "$D") MB (peak $(mem VmHWM "$D") MB); CPU $cpu_d0 s to converge, $cpu_d1 s after the joins/leaves, $(python3 -c "print(f'{($cpu_d2-$cpu_d1)/10*100:.1f}')") % idle"
echo "   datapath:    RSS $(mem VmRSS "$WG") MB (peak $(mem VmHWM "$WG") MB); CPU $cpu_w0 s to converge, $cpu_w1 s after the joins/leaves, $(python3 -c "print(f'{($cpu_w2-$cpu_w1)/10*100:.1f}')") % idle"

[ -n "$PSK_INTERVAL" ] || exit 0
echo
echo "== post-quantum preshared keys, every $PSK_INTERVAL, with $((N - 1)) simulated peers"
python3 -c "
n = $N
for i in range(1, n): print(f'addr add 10.{64 + i // 256}.{i % 256}.1/32 dev lo')" | ip -n "$NS" -batch -
read -r SELF_PUB SELF_KEM < <(wm_k "$API/$GROUP/wireguardnodes/scale.$SELF" | python3 -c "import json,sys; s=json.load(sys.stdin)['status']; print(s['publicKey'], s['kemPublicKey'])")
ip netns exec "$NS" "$JAVA" -XX:+UseSerialGC -cp "$PEERS_CP" io.wiremesh.bench.PskPeers run "$W" "$N" "$SELF" 10.64.0.1 "$PSK_INTERVAL" "$SELF_PUB" "$SELF_KEM" \
  >"$W/peers.log" 2>&1 & P=$!; PIDS+=("$P")
sleep 3
patches() { wm_k "$API/metrics" | awk '/^apiserver_request_total\{/ && /resource="wireguardnodes"/ && /subresource="status"/ && /verb="PATCH"/ {s += $NF} END {print s + 0}'; }
metric() { ip netns exec "$NS" curl -s http://127.0.0.1:19465/metrics | awk -v m="$1" '$1 == m {print $2}'; }
keyed() { ip netns exec "$NS" wg show "$IF" preshared-keys | grep -vc '(none)' || true; }
t0=$(now)
wm_k -X PATCH -H "Content-Type: application/merge-patch+json" -o /dev/null --data '{"spec":{"presharedKeys":{"enabled":true}}}' \
  "$API/$GROUP/wireguardmeshes/scale"
until [ "$(keyed)" -ge $((N - 1)) ]; do
  kill -0 "$D" 2>/dev/null || { echo "node-daemon died:" >&2; tail -20 "$W/daemon.log" >&2; exit 1; }
  kill -0 "$P" 2>/dev/null || { echo "the simulated peers died:" >&2; tail -20 "$W/peers.log" >&2; exit 1; }
  sleep 0.2
done
all_keyed=$(since "$t0")
echo "   all $((N - 1)) pairs have a preshared key ${all_keyed} s after the exchange was turned on"
secs=$(python3 -c "import re; d='$PSK_INTERVAL'; print(sum(int(v) * {'h': 3600, 'm': 60, 's': 1}[u] for v, u in re.findall(r'(\d+)([hms])', d)))")
sleep "$secs"  # the first round's status writes and installs are done
window=$((3 * secs))
cpu_d3=$(cpu "$D"); cpu_w3=$(cpu "$WG"); cpu_p3=$(cpu "$P"); rot3=$(metric wiremesh_psk_rotations_total); pat3=$(patches)
sleep "$window"
cpu_d4=$(cpu "$D"); cpu_w4=$(cpu "$WG"); cpu_p4=$(cpu "$P"); rot4=$(metric wiremesh_psk_rotations_total); pat4=$(patches)
fails=$(metric wiremesh_psk_failures_total); size=$(wm_k "$API/$GROUP/wireguardnodes/scale.$SELF" | wc -c)
python3 - <<PY
n, secs, window = $N, $secs, $window
dd, dw, dp = $cpu_d4 - $cpu_d3, $cpu_w4 - $cpu_w3, $cpu_p4 - $cpu_p3
idle = ($cpu_d2 - $cpu_d1) / 10
rot = float("$rot4") - float("$rot3")
pat = $pat4 - $pat3
intervals = window / secs
print(f"result: preshared keys every {secs} s, one node of {n}, {window} s measured")
print(f"   exchanges completed by the node: {rot:.0f} ({rot / intervals:.0f} per interval; {n - 1} pairs), failures since start: $fails")
print(f"   node-daemon CPU: {dd:.2f} s = {dd / intervals:.3f} s per interval = {dd / window * 100:.1f} % of a core"
      f" (idle with the exchange off, same run: {idle * 100:.1f} %; ratio {dd / window / max(idle, 1e-9):.1f}x);"
      f" {dd / max(rot, 1) * 1000:.2f} ms per exchange")
print(f"   datapath CPU (one preshared-key write per exchange over the UAPI): {dw:.2f} s = {dw / window * 100:.1f} % of a core")
print(f"   (the {n - 1} simulated peers, the other side of every pair: {dp:.2f} s)")
print(f"   at the default 2 min: {dd / intervals / 120 * 100:.2f} % of a core for the node-daemon")
print(f"   API: {pat} status writes by the node in {window} s ({$size} bytes each); each reaches the {n} daemons watching the mesh:"
      f" {pat * $size * n / intervals / 1024:.0f} KiB of watch traffic per interval for this node")
PY
