#!/usr/bin/env bash
# A node joining the local cluster (bin/wiremesh-local): from the moment its Node object exists to its block
# and peers on every node (its accepted key in every other node's `wg show`, and every other node's in its own),
# against a reference measured in the same cycle on the same node: from the same moment to a host-network
# DaemonSet pod (pause) Running there, the least any per-node agent (the node-daemon is one) takes to start on a
# new node of this cluster. R cycles of add-node / remove-node; medians. The clock is this script's own polling
# (every ~0.3 s, each poll a few kubectl/wg calls), the same for both figures.
# Usage: bench/node-join.sh [R=3]   (after mvn package and scripts/install-deps.sh; uses the running local
# cluster if there is one with nodes 1 and 2 only, else brings one up with 2 nodes and takes it down after)
set -euo pipefail
R="${1:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/local/common.sh"
N=3 # the node that joins
OURS=0
if [ ! -f "$WML_DIR/admin.kubeconfig" ]; then
  "$ROOT/bin/wiremesh-local" up --nodes 2 --pods 0 >&2
  OURS=1
fi
[ ! -d "$WML_DIR/nodes/$N" ] || { echo "node $N exists: run with a cluster of nodes 1 and 2 (bin/wiremesh-local remove-node $N)" >&2; exit 1; }
cleanup() {
  wml_kubectl delete daemonset join-reference -n default --ignore-not-found >/dev/null 2>&1 || true
  if [ -d "$WML_DIR/nodes/$N" ]; then "$ROOT/bin/wiremesh-local" remove-node "$N" >&2 || true; fi
  if [ "$OURS" = 1 ]; then "$ROOT/bin/wiremesh-local" down >&2 || true; fi
}
trap cleanup EXIT

DS="$(mktemp /tmp/wiremesh-join-reference.XXXXXX)"
cat >"$DS" <<'EOF'
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: join-reference, namespace: default}
spec:
  selector: {matchLabels: {app: join-reference}}
  template:
    metadata: {labels: {app: join-reference}}
    spec:
      hostNetwork: true
      tolerations: [{operator: Exists}]
      terminationGracePeriodSeconds: 1
      containers: [{name: pause, image: localhost/wiremesh/pause:1, imagePullPolicy: Never}]
EOF
# A cluster just brought up may not serve every API group yet: a few tries.
for _ in $(seq 30); do wml_kubectl apply -f "$DS" >/dev/null && break; sleep 1; done
rm -f "$DS"

now() { date +%s.%N; }
sub() { python3 -c "print(f'{$1 - $2:.1f}')"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
peers() { wml_in_node "$1" wg show wiremesh0 peers 2>/dev/null || true; }
# Every node has the joining node's accepted key, and the joining node has every other node's.
meshed() {
  local key n
  key=$(wml_kubectl get wireguardnode "default.wml-n$N" -o jsonpath='{.spec.publicKey}' 2>/dev/null || true)
  [ -n "$key" ] || return 1
  for n in 1 2; do peers "$n" | grep -qxF "$key" || return 1; done
  [ "$(peers "$N" | grep -c .)" -ge 2 ]
}
reference_running() {
  [ "$(wml_kubectl get pods -n default -l app=join-reference --field-selector "spec.nodeName=wml-n$N" \
    -o jsonpath='{.items[*].status.phase}' 2>/dev/null)" = Running ]
}

joins=(); refs=()
for i in $(seq 1 "$R"); do
  "$ROOT/bin/wiremesh-local" add-node "$N" >"$WML_DIR/join-bench.log" 2>&1 &
  adding=$!
  t_node=""; t_ref=""; t_mesh=""; deadline=$((SECONDS + 300))
  while [ -z "$t_ref" ] || [ -z "$t_mesh" ]; do
    [ $SECONDS -lt $deadline ] || { echo "cycle $i: no join after 300 s" >&2; cat "$WML_DIR/join-bench.log" >&2; exit 1; }
    t=$(now)
    if [ -z "$t_node" ]; then wml_kubectl get node "wml-n$N" >/dev/null 2>&1 && t_node=$t; sleep 0.2; continue; fi
    [ -n "$t_ref" ] || ! reference_running || t_ref=$t
    [ -n "$t_mesh" ] || ! meshed || t_mesh=$t
    sleep 0.2
  done
  wait "$adding"
  joins+=("$(sub "$t_mesh" "$t_node")"); refs+=("$(sub "$t_ref" "$t_node")")
  echo "cycle $i: block and peers everywhere ${joins[-1]} s after the Node appeared; reference pod Running after ${refs[-1]} s"
  "$ROOT/bin/wiremesh-local" remove-node "$N" >/dev/null 2>&1
  # A pod of the removed Node stays (Running, as last reported) until the pod GC: it would pass for the next one.
  wml_kubectl delete pods -n default -l app=join-reference --field-selector "spec.nodeName=wml-n$N" --force --grace-period=0 \
    >/dev/null 2>&1 || true
  # The operator keeps a departed node's block for its grace period; the next join must be a new node.
  deadline=$((SECONDS + 180))
  while wml_kubectl get wireguardnode "default.wml-n$N" >/dev/null 2>&1 \
      || [ -n "$(wml_kubectl get pods -n default -l app=join-reference --field-selector "spec.nodeName=wml-n$N" -o name 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || { echo "WireGuardNode default.wml-n$N not released after 180 s" >&2; exit 1; }
    sleep 1
  done
done

j=$(median "${joins[@]}"); r=$(median "${refs[@]}")
echo
echo "result ($(nproc) cores, $(date -u +%F)), a node joining a 2-node local cluster, median of $R:"
echo "   join (Node object -> block and peers on every node): $j s   [${joins[*]}]"
echo "   reference (Node object -> a host-network DaemonSet pod Running there): $r s   [${refs[*]}]"
echo "   ratio join / reference: $(python3 -c "print(f'{$j / $r:.2f}')")"
