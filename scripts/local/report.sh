# Test pods and the report of bin/wiremesh-local. Sourced.

# The test pods' ServiceAccount (token mounted) may list nodes, for the report's pod -> API server check.
wml_test_rbac() {
  wml_kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ServiceAccount
metadata: {name: wiremesh-test, namespace: $WML_TEST_NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: wiremesh-test-list-nodes}
rules: [{apiGroups: [""], resources: [nodes], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: wiremesh-test-list-nodes}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wiremesh-test-list-nodes}
subjects: [{kind: ServiceAccount, name: wiremesh-test, namespace: $WML_TEST_NS}]
EOF
}
wml_test_sa_token() { [ -n "$(wml_kubectl -n "$WML_TEST_NS" get serviceaccount wiremesh-test -o jsonpath='{.secrets[0].name}' 2>/dev/null)" ]; }

# wml_test_pods K: K iperf3-server pods per node in $WML_TEST_NS, placed by the scheduler.
wml_test_pods() {
  local k="$1" n i
  wml_kubectl create namespace "$WML_TEST_NS" >/dev/null 2>&1 || true
  wml_wait 60 "the default ServiceAccount of $WML_TEST_NS" wml_kubectl -n "$WML_TEST_NS" get serviceaccount default
  wml_test_rbac
  # Kubernetes 1.20 admits a pod that mounts a token only once the token Secret exists.
  wml_wait 60 "the token of ServiceAccount $WML_TEST_NS/wiremesh-test" wml_test_sa_token
  for n in $(wml_nodes); do
    for i in $(seq 1 "$k"); do
      cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: test-n$n-$i, namespace: $WML_TEST_NS, labels: {app.kubernetes.io/name: wiremesh-test}}
spec:
  nodeSelector: {kubernetes.io/hostname: wml-n$n}
  serviceAccountName: wiremesh-test
  terminationGracePeriodSeconds: 1
  containers:
    - {name: iperf, image: "localhost/wiremesh/testpod:1", imagePullPolicy: Never, command: [/usr/bin/iperf3, -s]}
EOF
    done
  done | wml_kubectl apply -f - >/dev/null
  # The test pods' iperf3 servers behind one Service, for the report's check of the cluster DNS.
  wml_kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: iperf, namespace: $WML_TEST_NS}
spec:
  selector: {app.kubernetes.io/name: wiremesh-test}
  ports: [{name: iperf, port: 5201, protocol: TCP, targetPort: 5201}]
EOF
  wml_kubectl -n "$WML_TEST_NS" wait --for=condition=Ready pod -l app.kubernetes.io/name=wiremesh-test --timeout=120s >/dev/null
}

wml_pod_ip() { wml_kubectl -n "$WML_TEST_NS" get pod "$1" -o jsonpath='{.status.podIP}'; }

# wml_report: nodes and keys, pods, RTT and TCP throughput across nodes, and what the underlay carried meanwhile.
wml_report() {
  local nodes; nodes=($(wml_nodes))
  echo "== wiremesh local cluster: ${#nodes[@]} nodes, API https://127.0.0.1:$WML_LOCAL_API_PORT, kubeconfig $WML_DIR/admin.kubeconfig"
  echo
  wml_kubectl get nodes -o wide --no-headers | awk '{printf "  %-8s %-9s %-16s %s\n", $1, $2, $6, $5}'
  echo
  echo "== test pods"
  wml_kubectl -n "$WML_TEST_NS" get pods -o wide --no-headers | awk '{printf "  %-12s %-9s %-14s %s\n", $1, $3, $6, $7}'
  [ "${#nodes[@]}" -ge 2 ] && wml_measure "${nodes[@]}"
  [ "${#nodes[@]}" -ge 1 ] && wml_reach "${nodes[0]}"
  echo
  echo "== WireGuardNodes (block, public key, peers with a handshake, as the node-daemons report it)"
  wml_kubectl get wireguardnodes -o jsonpath='{range .items[*]}{.spec.nodeName}{"\t"}{.spec.podCIDRs[0]}{"\t"}{.status.publicKey}{"\t"}{.status.peers[*].lastHandshakeTime}{"\n"}{end}' |
    awk -F'\t' '{n = split($4, h, " "); printf "  %-8s %-16s %s  handshakes: %d\n", $1, $2, $3, n}'
  echo
}

# wml_measure A B...: RTT and TCP throughput from node A's first test pod to each other node's first
# test pod, with a capture of A's underlay port meanwhile.
wml_measure() {
  local from="$1"; shift
  local a="test-n$from-1" cap="$WML_DIR/report.pcap" b bip out rtt loss tput
  rm -f "$cap"
  for b in "$@"; do   # handshakes outside the RTT figures
    wml_kubectl -n "$WML_TEST_NS" exec "$a" -- ping -c 1 -W 5 "$(wml_pod_ip "test-n$b-1")" >/dev/null 2>&1 || true
  done
  # Node A's underlay port, without its control-plane traffic and its own IPv6 link-local chatter.
  nsenter --net="/run/netns/$WML_UL" tcpdump -i "wml-n$from-ul" -n -U -w "$cap" "(ip or ip6) and not host $WML_UL_IP and not (ip6 and net fe80::/10)" >/dev/null 2>&1 &
  local dump=$!
  sleep 1
  echo
  echo "== from $a ($(wml_pod_ip "$a")) on wml-n$from to pods on the other nodes"
  for b in "$@"; do
    bip=$(wml_pod_ip "test-n$b-1")
    out=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- ping -c 10 -i 0.2 -q "$bip" 2>&1 || true)
    rtt=$(echo "$out" | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p')
    loss=$(echo "$out" | sed -n 's|.* \([0-9]*\)% packet loss.*|\1|p')
    tput=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- iperf3 -c "$bip" -t 3 -f m 2>&1 | awk '/receiver/{print $(NF-2), $(NF-1)}')
    printf "  -> test-n%s-1 %-14s RTT avg %s ms (loss %s%%), TCP %s (iperf3, 3 s)\n" "$b" "($bip)" "${rtt:-?}" "${loss:-?}" "${tput:-?}"
  done
  sleep 1
  kill "$dump" 2>/dev/null || true; wait "$dump" 2>/dev/null || true
  local total wg pods
  total=$(tcpdump -r "$cap" -n 2>/dev/null | wc -l)
  wg=$(tcpdump -r "$cap" -n 'udp port 51820' 2>/dev/null | wc -l)
  pods=$(tcpdump -r "$cap" -n "net $WML_POD_CIDR" 2>/dev/null | wc -l)
  echo "  underlay capture at wml-n$from's port meanwhile: $total packets, $wg WireGuard UDP/51820, $((total - wg)) other, $pods with a pod address in plain sight"
  rm -f "$cap"
}

# wml_why OUTPUT: curl's error line if there is one, else the last line (shortened).
wml_why() { { printf '%s\n' "$1" | grep -m1 '^curl: (' || printf '%s\n' "$1" | tail -1; } | cut -c1-120; }

# wml_reach N: from node N's first test pod, the API server through the kubernetes Service (with the
# pod's ServiceAccount token and CA), the outside world's web server and a Service by its DNS name.
# Never fails, never hangs.
wml_reach() {
  local a="test-n$1-1" out count seen
  echo
  echo "== from $a on wml-n$1 to the API server, the outside world (curl, at most 5 s each) and a Service by DNS name"
  out=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- sh -c 'd=/var/run/secrets/kubernetes.io/serviceaccount;
    curl -sS --max-time 5 --cacert "$d/ca.crt" -H "Authorization: Bearer $(cat "$d/token")" \
      "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/nodes"' 2>&1 || true)
  count=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)
print(len(d["items"]) if d.get("kind") == "NodeList" else "")' 2>/dev/null || true)
  if [ -n "$count" ]; then
    echo "  pod -> API server: ok (listed $count nodes through the kubernetes Service $WML_SERVICE_IP:443)"
  else
    echo "  pod -> API server: FAILED (through the kubernetes Service $WML_SERVICE_IP:443: $(wml_why "$out"))"
  fi
  out=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- curl -sS --max-time 5 "http://$WML_OUTSIDE_IP/" 2>&1 || true)
  seen=$(printf '%s\n' "$out" | sed -n 's/^wiremesh-outside: client \([0-9a-f.:]*\)$/\1/p' | head -1)
  if [ -n "$seen" ]; then
    echo "  pod -> outside: ok ($WML_OUTSIDE_IP saw the client as $seen)"
  else
    echo "  pod -> outside: FAILED ($WML_OUTSIDE_IP: $(wml_why "$out"))"
  fi
  wml_dns_check "$1"
}

# wml_dns_check N: from node N's first test pod, the test pods' Service "iperf" by its short name (through the
# cluster DNS at $WML_DNS_IP with the pod's search path) and a 1 s iperf3 run to it. One line; never fails, never hangs.
wml_dns_check() {
  local a="test-n$1-1" name="iperf.$WML_TEST_NS" out addr
  out=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- timeout 20 iperf3 -c "$name" -t 1 -f m 2>&1 || true)
  addr=$(printf '%s\n' "$out" | sed -n 's/.* connected to \([0-9a-f.:]*\) port 5201.*/\1/p' | head -1)
  if [ -n "$addr" ]; then
    echo "  pod -> Service by DNS name: ok ($name resolved to $addr by $WML_DNS_IP, iperf3 connected)"
  else
    echo "  pod -> Service by DNS name: FAILED ($name: $(wml_why "$out"))"
  fi
}
