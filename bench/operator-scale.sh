#!/usr/bin/env bash
# Operator scale benchmark: N simulated nodes (Node objects) and one WireGuardMesh on a real
# kube-apiserver 1.20.2 + etcd (started here, loopback only); the packaged operator runs as its own
# process. Prints the time until every node has its WireGuardNode, the operator's RSS, and, as the
# reference measured in the same run, the time the API server took to accept N plain object creations
# (the node objects) from a parallel client: the floor for N writes on this machine. The pool
# (10.64.0.0/10, /24 blocks) holds up to 16,384 nodes. Then every node proposes its key, signed by its
# own identity, as node-daemons do at start (bench/.../SignedProposals): the time until the operator has
# accepted all of them into the specs, against the time the API server took for those N status writes. Last, a
# steady mesh for STEADY seconds (default 60): every node writes a handshake summary into its status once a minute,
# as node-daemons do when a peer's health changes; prints the operator's passes and CPU seconds in that minute,
# against the same minute with the operator idle (no status writes) as the reference.
# Usage: [STEADY=60] [OPERATOR_JAR=...] bench/operator-scale.sh [N=1000]   (after mvn package and scripts/install-deps.sh)
set -euo pipefail
N="${1:-1000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="${OPERATOR_JAR:-$ROOT/operator/target/quarkus-app/quarkus-run.jar}" # OPERATOR_JAR: another build (a before/after comparison)
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
[ -f "$JAR" ] || { echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }
PROPOSALS_CP="$ROOT/node-daemon/target/wiremesh-node-daemon-0.1.0-SNAPSHOT-all.jar:$ROOT/bench/target/classes"
W="$(mktemp -d /tmp/wiremesh-scale.XXXXXX)"
PIDS=()
. "$ROOT/scripts/lib/apiserver.sh"
cleanup() { for p in "${PIDS[@]:-}" "${WM_API_PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; sleep 1
            for p in "${PIDS[@]:-}" "${WM_API_PIDS[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
trap "exit 130" INT TERM # through the EXIT trap: a stopped benchmark leaves no API server or operator behind
now() { date +%s.%N; }
TOKEN=$WM_API_TOKEN
k() { wm_k "$@"; }
count() { k "$API/apis/wiremesh.io/v1alpha1/wireguardnodes?labelSelector=wiremesh.io/mesh=scale" |
          python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'; }

echo "== control plane (etcd + kube-apiserver 1.20.2 on loopback)"
wm_apiserver "$W" 26444 23791

echo "== reference: the API server accepting $N Node creations (16 parallel clients)"
seq 1 "$N" | sed 's/.*/{"apiVersion":"v1","kind":"Node","metadata":{"name":"sim-&","labels":{"bench":"scale"}}}/' >"$W/nodes.jsonl"
t0=$(now)
xargs -P 16 -d '\n' -I{} curl -sS -k -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  -X POST --data '{}' "$API/api/v1/nodes" <"$W/nodes.jsonl"
t1=$(now)
ref=$(python3 -c "print(f'{$t1-$t0:.2f}')")
echo "   $N nodes created in $ref s"

echo "== operator: one mesh over the $N nodes"
"$JAVA" ${WIREMESH_OPERATOR_JAVA_OPTS:--XX:+UseSerialGC -Xmx128m -XX:TieredStopAtLevel=1} -Dkubeconfig="$W/kubeconfig" -Dwiremesh.operator.lease-namespace=default -Dquarkus.http.port=18089 -jar "$JAR" >"$W/operator.log" 2>&1 & OP=$!; PIDS+=("$OP")
for _ in $(seq 120); do curl -sf http://127.0.0.1:18089/q/health/ready >/dev/null 2>&1 && break; sleep 0.5; done
kill -0 "$OP" 2>/dev/null || { echo "the operator did not start:" >&2; grep -m3 -E "ERROR|Caused by|refus" "$W/operator.log" >&2; exit 1; }
rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$OP/status)
t0=$(now)
k -X POST -H "Content-Type: application/json" "$API/apis/wiremesh.io/v1alpha1/wireguardmeshes" --data \
  '{"apiVersion":"wiremesh.io/v1alpha1","kind":"WireGuardMesh","metadata":{"name":"scale"},"spec":{"podCIDRs":["10.64.0.0/10","fd64::/48"],"nodeSelector":{"bench":"scale"}}}' >/dev/null
while [ "$(count)" -lt "$N" ]; do sleep 0.2; done
t1=$(now)
alloc=$(python3 -c "print(f'{$t1-$t0:.2f}')")
rss=$(awk '/VmRSS/ {print $2}' /proc/$OP/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$OP/status)

echo "== $((N / 10)) more nodes join"
seq $((N + 1)) $((N + N / 10)) | sed 's/.*/{"apiVersion":"v1","kind":"Node","metadata":{"name":"sim-&","labels":{"bench":"scale"}}}/' >"$W/more.jsonl"
t0=$(now)
xargs -P 16 -d '\n' -I{} curl -sS -k -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  -X POST --data '{}' "$API/api/v1/nodes" <"$W/more.jsonl"
while [ "$(count)" -lt $((N + N / 10)) ]; do sleep 0.2; done
t1=$(now)
join=$(python3 -c "print(f'{$t1-$t0:.2f}')")
blocks=$(k "$API/apis/wiremesh.io/v1alpha1/wireguardnodes?labelSelector=wiremesh.io/mesh=scale" |
         python3 -c 'import json,sys; b=[i["spec"]["podCIDRs"][0] for i in json.load(sys.stdin)["items"]]; print(len(b), len(set(b)))')

echo "== every node proposes its key, signed (as $((N + N / 10)) node-daemons starting at once)"
"$JAVA" -cp "$PROPOSALS_CP" io.wiremesh.bench.SignedProposals "$W/proposals.tsv" scale $((N + N / 10))
cut -f1 "$W/proposals.tsv" >"$W/pnames"; cut -f2 "$W/proposals.tsv" >"$W/pbodies"
accepted() { k "$API/apis/wiremesh.io/v1alpha1/wireguardnodes?labelSelector=wiremesh.io/mesh=scale" |
             python3 -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin)["items"] if i["spec"].get("publicKey")))'; }
t0=$(now)
paste -d'\n' "$W/pnames" "$W/pbodies" | xargs -P 16 -d '\n' -n 2 sh -c 'curl -sS -k -o /dev/null -H "Authorization: Bearer '"$TOKEN"'" \
  -H "Content-Type: application/merge-patch+json" -X PATCH --data "$1" "'"$API"'/apis/wiremesh.io/v1alpha1/wireguardnodes/$0/status"'
t1=$(now)
while [ "$(accepted)" -lt $((N + N / 10)) ]; do sleep 0.2; done
t2=$(now)
writes=$(python3 -c "print(f'{$t1-$t0:.2f}')"); accept=$(python3 -c "print(f'{$t2-$t0:.2f}')")
rss2=$(awk '/VmRSS/ {print $2}' /proc/$OP/status); hwm2=$(awk '/VmHWM/ {print $2}' /proc/$OP/status)

STEADY="${STEADY:-60}"
passes() { curl -sf http://127.0.0.1:18089/q/metrics | awk '/^wiremesh_operator_reconciles_total/ {print int($2)}'; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' /proc/$OP/stat; }
echo "== a steady mesh: $STEADY s idle (reference), then $STEADY s with every node writing a handshake summary once a minute"
sleep 5
p0=$(passes); c0=$(cpu); sleep "$STEADY"; p1=$(passes); c1=$(cpu)
idle_passes=$((p1 - p0)); idle_cpu=$(python3 -c "print(f'{$c1-$c0:.2f}')")
M=$((N + N / 10))
python3 - "$M" "$STEADY" >"$W/heartbeats" <<'PY'
import json, sys
n, steady = int(sys.argv[1]), int(sys.argv[2])
for i in range(1, n + 1):
    body = {"status": {"peers": [{"publicKey": "A" * 43 + "=", "node": "sim-1", "lastHandshakeTime": f"2026-12-08T00:00:{i % 60:02d}Z"}]}}
    print(f"scale.sim-{i}\t{json.dumps(body, separators=(',', ':'))}")
PY
cut -f1 "$W/heartbeats" >"$W/hnames"; cut -f2 "$W/heartbeats" >"$W/hbodies"
p0=$(passes); c0=$(cpu); t0=$(now)
# Spread over the minute as node-daemons' writes are: $M writes in $STEADY s, 4 writers.
paste -d'\n' "$W/hnames" "$W/hbodies" | xargs -P 4 -d '\n' -n 2 sh -c 'sleep '"$(python3 -c "print(f'{4*$STEADY/$M:.4f}')")"'; curl -sS -k -o /dev/null -w "%{http_code}\\n" -H "Authorization: Bearer '"$TOKEN"'" \
  -H "Content-Type: application/merge-patch+json" -X PATCH --data "$1" "'"$API"'/apis/wiremesh.io/v1alpha1/wireguardnodes/$0/status"' >"$W/hcodes"
ok=$(grep -c '^200$' "$W/hcodes" || true)
[ "$ok" -eq "$M" ] || echo "   WARNING: only $ok of $M status writes were accepted: $(sort "$W/hcodes" | uniq -c | tr '\n' ' ')"
t1=$(now); left=$(python3 -c "print(max(0, $STEADY - ($t1 - $t0)))"); sleep "$left"
p1=$(passes); c1=$(cpu)
busy_passes=$((p1 - p0)); busy_cpu=$(python3 -c "print(f'{$c1-$c0:.2f}')")

echo
echo "result ($(nproc) cores, $(date -u +%F)):"
echo "   allocation of $N nodes:         $alloc s   (reference, $N plain creations: $ref s; ratio $(python3 -c "print(f'{$alloc/$ref:.2f}')")x)"
echo "   $((N / 10)) nodes joining (incl. creation): $join s"
echo "   distinct v4 blocks:            $blocks (count, distinct)"
echo "   operator RSS: idle $((rss_idle / 1024)) MB, after $((rss / 1024)) MB, peak $((hwm / 1024)) MB"
echo "   $((N + N / 10)) signed proposals accepted: $accept s after the first status write   (reference, the $((N + N / 10)) status writes themselves: $writes s; ratio $(python3 -c "print(f'{$accept/$writes:.2f}')")x)"
echo "   operator RSS after the proposals: $((rss2 / 1024)) MB, peak $((hwm2 / 1024)) MB"
echo "   steady mesh, $M handshake summaries in $STEADY s: $busy_passes passes, $busy_cpu s operator CPU   (reference, idle: $idle_passes passes, $idle_cpu s CPU)"
