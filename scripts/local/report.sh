# Test pods and the report of bin/wiremesh-local. Sourced.

# wml_test_pods K: K iperf3-server pods per node in $WML_TEST_NS, placed by the scheduler.
wml_test_pods() {
  local k="$1" n i
  wml_kubectl create namespace "$WML_TEST_NS" >/dev/null 2>&1 || true
  wml_wait 60 "the default ServiceAccount of $WML_TEST_NS" wml_kubectl -n "$WML_TEST_NS" get serviceaccount default
  for n in $(wml_nodes); do
    for i in $(seq 1 "$k"); do
      cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: test-n$n-$i, namespace: $WML_TEST_NS, labels: {app.kubernetes.io/name: wiremesh-test}}
spec:
  nodeSelector: {kubernetes.io/hostname: wml-n$n}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
    - {name: iperf, image: "localhost/wiremesh/testpod:1", imagePullPolicy: Never, command: [/usr/bin/iperf3, -s]}
EOF
    done
  done | wml_kubectl apply -f - >/dev/null
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
  [ "${#nodes[@]}" -ge 2 ] && wml_measure "${nodes[0]}" "${nodes[1]}"
  echo
  echo "== WireGuardNodes (block, public key, peers with a handshake, as the node-daemons report it)"
  wml_kubectl get wireguardnodes -o jsonpath='{range .items[*]}{.spec.nodeName}{"\t"}{.spec.podCIDRs[0]}{"\t"}{.status.publicKey}{"\t"}{.status.peers[*].lastHandshakeTime}{"\n"}{end}' |
    awk -F'\t' '{n = split($4, h, " "); printf "  %-8s %-16s %s  handshakes: %d\n", $1, $2, $3, n}'
  echo
}

# wml_measure A B: RTT and TCP throughput from node A's first test pod to node B's, with a capture of A's underlay port.
wml_measure() {
  local nodes=("$1" "$2")

  local a="test-n${nodes[0]}-1" b="test-n${nodes[1]}-1" bip cap="$WML_DIR/report.pcap" rtt tput
  bip=$(wml_pod_ip "$b")
  # Capture node A's underlay port (its control-plane traffic to $WML_UL_IP left out) while the pods talk.
  rm -f "$cap"
  wml_kubectl -n "$WML_TEST_NS" exec "$a" -- ping -c 1 -W 5 "$bip" >/dev/null 2>&1 || true   # handshake outside the RTT figure
  nsenter --net="/run/netns/$WML_UL" tcpdump -i "wml-n${nodes[0]}-ul" -n -U -w "$cap" "(ip or ip6) and not host $WML_UL_IP and not (ip6 and net fe80::/10)" >/dev/null 2>&1 &
  local dump=$!
  sleep 1
  rtt=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- ping -c 10 -i 0.2 -q "$bip" 2>&1 | sed -n 's|.*min/avg/max = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\).*|\2|p')
  local loss; loss=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- ping -c 10 -i 0.2 -q "$bip" 2>&1 | sed -n 's|.* \([0-9]*\)% packet loss.*|\1|p')
  tput=$(wml_kubectl -n "$WML_TEST_NS" exec "$a" -- iperf3 -c "$bip" -t 3 -f m 2>&1 | awk '/receiver/{print $(NF-2), $(NF-1)}')
  sleep 1
  kill "$dump" 2>/dev/null || true; wait "$dump" 2>/dev/null || true
  echo
  echo "== $a -> $b ($bip), across nodes wml-n${nodes[0]} -> wml-n${nodes[1]}"
  echo "  ping RTT avg: ${rtt:-?} ms (loss ${loss:-?}%)"
  echo "  TCP (iperf3, 3 s): ${tput:-?}"
  local total wg other pods
  total=$(tcpdump -r "$cap" -n 2>/dev/null | wc -l)
  wg=$(tcpdump -r "$cap" -n 'udp port 51820' 2>/dev/null | wc -l)
  other=$((total - wg))
  pods=$(tcpdump -r "$cap" -n "net $WML_POD_CIDR" 2>/dev/null | wc -l)
  echo "  underlay capture at wml-n${nodes[0]}'s port: $total packets, $wg WireGuard UDP/51820, $other other, $pods with a pod address in plain sight"
  rm -f "$cap"
}
