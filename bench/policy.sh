#!/usr/bin/env bash
# NetworkPolicy costs, each against a reference measured in the same run:
#  1. enforce: from a NetworkPolicy's create (kubectl returns) to its rule in force on every node (the selected pod's
#     address in that node's ingress map), against kube-proxy programming a Service created at the same moment (its
#     ClusterIP in every node's iptables nat table): R cycles, p50/p99;
#  2. datapath: pod-to-pod TCP throughput (iperf3 -t 5) and RTT (ping) between pods on two nodes, the pair isolated
#     both ways and allowed by 2 policies, with 998 more selecting the pair (1,000 in all) against the 2 alone,
#     interleaved, R rounds;
#  3. update: one pod added to a simulated cluster of 10,000 pods and 1,000 policies, 110 pods on the node: plan, render
#     and nft -f, against nft loading the same number of set elements as one set (io.wiremesh.bench.PolicyScale).
# Usage: bench/policy.sh [R=5]   (after mvn package and scripts/install-deps.sh; uses the running local cluster if
# there is one, else brings one up with 2 nodes and takes it down after)
set -euo pipefail
R="${1:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/local/common.sh"
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
CP="$ROOT/node-daemon/target/wiremesh-node-daemon-0.1.0-SNAPSHOT-all.jar:$ROOT/bench/target/classes"
[ -f "$ROOT/node-daemon/target/wiremesh-node-daemon-0.1.0-SNAPSHOT-all.jar" ] && [ -d "$ROOT/bench/target/classes" ] \
  || { echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }
OURS=0
SIM_NS=wmb-policy-scale
cleanup() {
  wml_kubectl delete namespace wmb-policy --ignore-not-found --wait=false >/dev/null 2>&1 || true
  ip netns del "$SIM_NS" 2>/dev/null || true
  if [ "$OURS" = 1 ]; then "$ROOT/bin/wiremesh-local" down >&2 || true; fi
}
trap cleanup EXIT
if [ ! -f "$WML_DIR/admin.kubeconfig" ]; then
  "$ROOT/bin/wiremesh-local" up --nodes 2 --pods 0 >&2
  OURS=1
fi
now() { date +%s.%N; }
ms() { python3 -c "print(f'{($1 - $2) * 1000:.0f}')"; }
pct() { python3 -c "import sys; xs=sorted(float(x) for x in sys.argv[2:]); i=min(len(xs)-1, int(round($1/100*(len(xs)-1)))); print(f'{xs[i]:.0f}')" "$@"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
nodes=$(wml_nodes | wc -l)

# ---- the pods -----------------------------------------------------------------------------------------------
NS=wmb-policy
wml_kubectl create namespace "$NS" >/dev/null
for n in $(seq 1 "$nodes"); do
  wml_kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: target-$n, namespace: $NS, labels: {bench: target, role: server}}
spec:
  nodeSelector: {kubernetes.io/hostname: wml-n$n}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers: [{name: iperf, image: localhost/wiremesh/testpod:1, imagePullPolicy: Never, command: [/usr/bin/iperf3, -s]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client-$n, namespace: $NS, labels: {role: client}}
spec:
  nodeSelector: {kubernetes.io/hostname: wml-n$n}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers: [{name: iperf, image: localhost/wiremesh/testpod:1, imagePullPolicy: Never, command: [/usr/bin/iperf3, -s]}]
EOF
done
wml_kubectl -n "$NS" wait --for=condition=Ready pod --all --timeout=180s >/dev/null
ip_of() { wml_kubectl -n "$NS" get pod "$1" -o jsonpath='{.status.podIP}'; }

# ---- 1. create -> enforced on every node, against kube-proxy's Service ------------------------------------
enforced_everywhere() { # every node's ingress map holds its target's address
  local n
  for n in $(seq 1 "$nodes"); do
    wml_in_node "$n" nft list map inet wiremesh-policy ingress4 2>/dev/null | grep -q "${TARGET_IP[$n]} " || return 1
  done
}
programmed_everywhere() { # every node's kube-proxy rules hold the Service's ClusterIP
  local n
  for n in $(seq 1 "$nodes"); do
    wml_in_node "$n" iptables-save -t nat 2>/dev/null | grep -q -- "-d $1/32" || return 1
  done
}
declare -A TARGET_IP
for n in $(seq 1 "$nodes"); do TARGET_IP[$n]=$(ip_of "target-$n"); done
POL=(); SVC=()
for i in $(seq 1 "$R"); do
  t0=$(now)
  wml_kubectl apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bench-deny, namespace: $NS}
spec: {podSelector: {matchLabels: {bench: target}}, policyTypes: [Ingress]}
---
apiVersion: v1
kind: Service
metadata: {name: bench-svc, namespace: $NS}
spec: {selector: {bench: target}, ports: [{port: 5201}]}
EOF
  cip=$(wml_kubectl -n "$NS" get service bench-svc -o jsonpath='{.spec.clusterIP}')
  p="" s=""
  while [ -z "$p" ] || [ -z "$s" ]; do
    [ -z "$p" ] && enforced_everywhere && p=$(ms "$(now)" "$t0")
    [ -z "$s" ] && programmed_everywhere "$cip" && s=$(ms "$(now)" "$t0")
    [ "$(ms "$(now)" "$t0")" -lt 120000 ] || { echo "not in force after 120 s" >&2; exit 1; }
  done
  POL+=("$p"); SVC+=("$s")
  echo "cycle $i: NetworkPolicy in force on $nodes nodes after $p ms; reference: Service in kube-proxy's rules on $nodes nodes after $s ms"
  wml_kubectl -n "$NS" delete networkpolicy bench-deny >/dev/null
  wml_kubectl -n "$NS" delete service bench-svc >/dev/null
  sleep 2
done
echo "create -> enforced: p50 $(pct 50 "${POL[@]}") ms, p99 $(pct 99 "${POL[@]}") ms; kube-proxy reference p50 $(pct 50 "${SVC[@]}") ms, p99 $(pct 99 "${SVC[@]}") ms"

# ---- 2. throughput and RTT with 2 and 1,000 policies ----------------------------------------------------------
# The pair: client-2 (node 2) -> target-1 (node 1), both isolated (egress, ingress) and allowed by a policy each.
wml_kubectl apply -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-from-clients, namespace: $NS}
spec:
  podSelector: {matchLabels: {role: server}}
  ingress: [{from: [{podSelector: {matchLabels: {role: client}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: clients-to-servers, namespace: $NS}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {role: server}}}]}]
EOF
noise() { # 998 more policies selecting the same two pods (selectors, namespace selectors, ipBlocks, ports that do
  # not match the pair: each new connection of theirs passes every one), or none
  local j f
  if [ "$1" = on ]; then
    f=$(mktemp)
    for j in $(seq 1 998); do
      if [ $((j % 2)) = 0 ]; then
        printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: noise-%s, namespace: %s, labels: {bench: noise}}\nspec:\n  podSelector: {matchLabels: {role: server}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: a%s}}}, {namespaceSelector: {matchLabels: {team: t%s}}}, {ipBlock: {cidr: 10.%s.0.0/16, except: [10.%s.1.0/24]}}], ports: [{port: %s}]}]\n---\n' \
          "$j" "$NS" "$j" "$((j % 10))" "$((100 + j % 100))" "$((100 + j % 100))" "$((8000 + j))" >>"$f"
      else
        printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: noise-%s, namespace: %s, labels: {bench: noise}}\nspec:\n  podSelector: {matchLabels: {role: client}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {app: a%s}}}, {ipBlock: {cidr: 10.%s.0.0/16}}], ports: [{port: %s, protocol: UDP}]}]\n---\n' \
          "$j" "$NS" "$j" "$((100 + j % 100))" "$((8000 + j))" >>"$f"
      fi
    done
    wml_kubectl apply -f "$f" >/dev/null
    rm -f "$f"
    # Measured once both nodes' tables hold them (and their node-daemons are idle again).
    until [ "$(wml_in_node 1 nft list table inet wiremesh-policy 2>/dev/null | grep -c '^	chain pol')" -ge 500 ] \
       && [ "$(wml_in_node 2 nft list table inet wiremesh-policy 2>/dev/null | grep -c '^	chain pol')" -ge 500 ]; do sleep 1; done
    sleep 5
  else
    wml_kubectl -n "$NS" delete networkpolicy -l bench=noise >/dev/null
    until [ "$(wml_in_node 1 nft list table inet wiremesh-policy 2>/dev/null | grep -c '^	chain pol')" -le 2 ]; do sleep 1; done
    sleep 5
  fi
}
SERVER=$(ip_of target-1)
measure() { # prints "Mbit/s rtt_ms"
  local out tput rtt
  out=$(wml_kubectl -n "$NS" exec client-2 -- iperf3 -c "$SERVER" -t 5 -f m 2>&1) || { echo "iperf3 failed: $out" >&2; exit 1; }
  tput=$(printf '%s\n' "$out" | awk '/receiver/ {print $(NF-2)}')
  rtt=$(wml_kubectl -n "$NS" exec client-2 -- ping -c 20 -i 0.2 "$SERVER" 2>&1 | awk -F/ '/min\/avg/ {print $4}')
  echo "$tput $rtt"
}
T0=(); T1=(); R0=(); R1=()
for i in $(seq 1 "$R"); do
  read -r t r < <(measure); T0+=("$t"); R0+=("$r")
  noise on
  read -r t r < <(measure); T1+=("$t"); R1+=("$r")
  echo "round $i: the pair's 2 policies: ${T0[-1]} Mbit/s, RTT ${R0[-1]} ms; 1,000 policies: ${T1[-1]} Mbit/s, RTT ${R1[-1]} ms"
  noise off
done
t0=$(median "${T0[@]}"); t1=$(median "${T1[@]}"); r0=$(median "${R0[@]}"); r1=$(median "${R1[@]}")
echo "datapath: 1,000 policies $t1 Mbit/s, RTT $r1 ms; reference (the pair's 2 policies alone) $t0 Mbit/s, RTT $r0 ms; throughput ratio $(python3 -c "print(f'{$t1/$t0:.3f}')"), RTT ratio $(python3 -c "print(f'{$r1/$r0:.3f}')")"

# ---- 3. one update at 10,000 pods and 1,000 policies (simulated node) -----------------------------------------
ip netns add "$SIM_NS"
"$JAVA" -XX:+UseSerialGC -cp "$CP" io.wiremesh.bench.PolicyScale "$SIM_NS" 10000 1000 110 "$R"
