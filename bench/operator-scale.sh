#!/usr/bin/env bash
# Operator scale benchmark: N simulated nodes (Node objects) and one WireGuardMesh on a real
# kube-apiserver 1.20.2 + etcd (started here, loopback only); the packaged operator runs as its own
# process. Prints the time until every node has its WireGuardNode, the operator's RSS, and, as the
# reference measured in the same run, the time the API server took to accept N plain object creations
# (the node objects) from a parallel client: the floor for N writes on this machine.
# Usage: bench/operator-scale.sh [N=1000]   (after mvn package and scripts/install-deps.sh)
set -euo pipefail
N="${1:-1000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${WIREMESH_K8S_CACHE:-/var/cache/wiremesh}/k8s-1.20.2/bin"
JAR="$ROOT/operator/target/quarkus-app/quarkus-run.jar"
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
[ -x "$BIN/kube-apiserver" ] || { echo "run scripts/install-deps.sh first (builds kube-apiserver)" >&2; exit 1; }
[ -f "$JAR" ] || { echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }
W="$(mktemp -d /tmp/wiremesh-scale.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; sleep 1
            for p in "${PIDS[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
now() { date +%s.%N; }
API=https://127.0.0.1:26444
TOKEN=wm-bench-token
k() { curl -sS -k -H "Authorization: Bearer $TOKEN" "$@"; }
count() { k "$API/apis/wiremesh.io/v1alpha1/wireguardnodes?labelSelector=wiremesh.io/mesh=scale" |
          python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'; }

echo "== control plane (etcd + kube-apiserver 1.20.2 on loopback)"
openssl genrsa -out "$W/sa.key" 2048 2>/dev/null; openssl rsa -in "$W/sa.key" -pubout -out "$W/sa.pub" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=wm-bench -keyout "$W/api.key" -out "$W/api.crt" \
  -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
echo "$TOKEN,wm-admin,1000,system:masters" >"$W/tokens.csv"
etcd --name wm-bench --data-dir "$W/etcd" --listen-client-urls http://127.0.0.1:23791 --advertise-client-urls http://127.0.0.1:23791 \
  --listen-peer-urls http://127.0.0.1:23801 --initial-advertise-peer-urls http://127.0.0.1:23801 \
  --initial-cluster wm-bench=http://127.0.0.1:23801 >"$W/etcd.log" 2>&1 & PIDS+=("$!")
"$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:23791 --bind-address=127.0.0.1 --secure-port=26444 \
  --tls-cert-file="$W/api.crt" --tls-private-key-file="$W/api.key" --token-auth-file="$W/tokens.csv" \
  --authorization-mode=RBAC --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$W/sa.pub" \
  --service-account-signing-key-file="$W/sa.key" --service-cluster-ip-range=10.96.0.0/16 --advertise-address=127.0.0.1 \
  --disable-admission-plugins=ServiceAccount >"$W/apiserver.log" 2>&1 & PIDS+=("$!")
for _ in $(seq 120); do k "$API/readyz" 2>/dev/null | grep -q ok && break; sleep 0.5; done
for f in "$ROOT"/crds/*.yml; do k -X POST -H "Content-Type: application/yaml" --data-binary @"$f" \
  "$API/apis/apiextensions.k8s.io/v1/customresourcedefinitions" >/dev/null; done
sleep 2
cat >"$W/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: bench, cluster: {server: "$API", certificate-authority: "$W/api.crt"}}]
users: [{name: bench, user: {token: $TOKEN}}]
contexts: [{name: bench, context: {cluster: bench, user: bench}}]
current-context: bench
KC

echo "== reference: the API server accepting $N Node creations (16 parallel clients)"
seq 1 "$N" | sed 's/.*/{"apiVersion":"v1","kind":"Node","metadata":{"name":"sim-&","labels":{"bench":"scale"}}}/' >"$W/nodes.jsonl"
t0=$(now)
xargs -P 16 -d '\n' -I{} curl -sS -k -o /dev/null -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
  -X POST --data '{}' "$API/api/v1/nodes" <"$W/nodes.jsonl"
t1=$(now)
ref=$(python3 -c "print(f'{$t1-$t0:.2f}')")
echo "   $N nodes created in $ref s"

echo "== operator: one mesh over the $N nodes"
"$JAVA" ${WIREMESH_OPERATOR_JAVA_OPTS:--XX:+UseSerialGC -Xmx128m -XX:TieredStopAtLevel=1} -Dkubeconfig="$W/kubeconfig" -Dquarkus.http.port=18089 -jar "$JAR" >"$W/operator.log" 2>&1 & OP=$!; PIDS+=("$OP")
for _ in $(seq 120); do curl -sf http://127.0.0.1:18089/q/health/ready >/dev/null 2>&1 && break; sleep 0.5; done
rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$OP/status)
t0=$(now)
k -X POST -H "Content-Type: application/json" "$API/apis/wiremesh.io/v1alpha1/wireguardmeshes" --data \
  '{"apiVersion":"wiremesh.io/v1alpha1","kind":"WireGuardMesh","metadata":{"name":"scale"},"spec":{"podCIDRs":["10.64.0.0/12","fd64::/48"],"nodeSelector":{"bench":"scale"}}}' >/dev/null
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

echo
echo "result ($(nproc) cores, $(date -u +%F)):"
echo "   allocation of $N nodes:         $alloc s   (reference, $N plain creations: $ref s; ratio $(python3 -c "print(f'{$alloc/$ref:.2f}')")x)"
echo "   $((N / 10)) nodes joining (incl. creation): $join s"
echo "   distinct v4 blocks:            $blocks (count, distinct)"
echo "   operator RSS: idle $((rss_idle / 1024)) MB, after $((rss / 1024)) MB, peak $((hwm / 1024)) MB"
