# Shared settings and process helpers of bin/wiremesh-local. Sourced, not run.
# Everything the local cluster makes lives under $WML_DIR, in network namespaces named wml-*,
# in mount namespaces persisted under $WML_DIR/ns, and in processes recorded under $WML_DIR/pids.
WML_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WML_DIR="${WIREMESH_LOCAL_DIR:-/var/lib/wiremesh-local}"
WML_CACHE="${WIREMESH_K8S_CACHE:-/var/cache/wiremesh}"
WML_BIN="$WML_CACHE/k8s-1.20.2/bin"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
WML_UL=wml-ul                 # underlay namespace: the "switch" and the control plane
WML_UL_IP=198.19.0.1          # never 192.0.2.0/24 (this machine's own network)
WML_API="https://$WML_UL_IP:6443"
WML_WORLD=wml-world           # the "internet": outside every node and pod range, reached through wml-ul
WML_WORLD_GW=198.51.100.1     # wml-ul's side of the link to wml-world
WML_OUTSIDE_IP=198.51.100.2   # wml-world: HTTP on :80 (scripts/local/outside.py), iperf3 -s on :5201
WML_LOCAL_API_PORT="${WIREMESH_LOCAL_API_PORT:-36443}"   # root-namespace clients: 127.0.0.1 only
WML_SERVICE_CIDR=10.96.0.0/12
WML_SERVICE_IP=10.96.0.1
WML_DNS_IP=10.96.0.10         # the cluster DNS Service (kube-system/kube-dns), as kubeadm and kind number it
WML_CLUSTER_DOMAIN=cluster.local
WML_POD_CIDR="${WIREMESH_LOCAL_POD_CIDR:-10.42.0.0/16}"
WML_RELEASE=wiremesh
WML_NAMESPACE=wiremesh-system
WML_TEST_NS=wiremesh-test

wml_log() { printf '[wiremesh-local %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
wml_die() { printf 'wiremesh-local: %s\n' "$*" >&2; exit 1; }
wml_node_ip() { echo "198.19.0.$((10 + $1))"; }
wml_kubectl() { "$WML_BIN/kubectl" --kubeconfig "$WML_DIR/admin.kubeconfig" "$@"; }
# wml_nodes_at_least N [STATUS] [NODE]: at least N nodes (named NODE, if given) are registered (with STATUS, e.g. Ready).
wml_nodes_at_least() {
  local want="$1" status="${2:-}" name="${3:-}"
  [ "$(wml_kubectl get nodes $name --no-headers 2>/dev/null | awk -v s="$status" 's == "" || $2 == s' | wc -l)" -ge "$want" ]
}
wml_nodes() { ls -d "$WML_DIR"/nodes/* 2>/dev/null | sed 's|.*/||' | sort -n; }

# wml_start NAME CMD...: runs CMD detached with its output in $WML_DIR/log/NAME.log and records
# its PID with its start time, so stopping never hits a recycled PID.
wml_start() {
  local name="$1"; shift
  mkdir -p "$WML_DIR/log" "$WML_DIR/pids"
  "$@" </dev/null >>"$WML_DIR/log/$name.log" 2>&1 &
  local pid=$!
  echo "$pid $(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" >"$WML_DIR/pids/$name.pid"
}

# wml_alive NAME: the recorded process still runs (same PID and start time).
wml_alive() {
  local f="$WML_DIR/pids/$1.pid" pid start
  [ -f "$f" ] || return 1
  read -r pid start <"$f"
  [ -n "$pid" ] && [ "$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" = "$start" ]
}

# wml_stop NAME...: SIGTERM, then SIGKILL after $WML_STOP_WAIT seconds (kube-apiserver 1.20 can drain for minutes).
wml_stop() {
  local n pid start waited
  for n in "$@"; do
    wml_alive "$n" && { read -r pid start <"$WML_DIR/pids/$n.pid"; kill "$pid" 2>/dev/null || true; }
  done
  for n in "$@"; do
    waited=0
    while wml_alive "$n" && [ "$waited" -lt "${WML_STOP_WAIT:-100}" ]; do sleep 0.1; waited=$((waited + 1)); done
    if wml_alive "$n"; then read -r pid start <"$WML_DIR/pids/$n.pid"; kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$WML_DIR/pids/$n.pid"
  done
}

# wml_wait SECONDS WHAT CMD...: polls CMD every 0.5 s until it succeeds.
wml_wait() {
  local secs="$1" what="$2"; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || wml_die "timed out after ${secs}s waiting for $what (logs: $WML_DIR/log)"
    sleep 0.5
  done
}

# wml_listening NETNS ADDR:PORT: a TCP socket listens on ADDR:PORT in network namespace NETNS (wml-*).
wml_listening() {
  nsenter --net="/run/netns/$1" ss -Hltn | awk '{print $4}' | grep -qxF "$2"
}

# wml_in_node N CMD...: CMD in node N's network, mount and UTS namespaces (where its containerd, kubelet and pods run).
wml_in_node() {
  local n="$1"; shift
  nsenter --net="/run/netns/wml-n$n" --mount="$WML_DIR/ns/n$n.mnt" --uts="$WML_DIR/ns/n$n.uts" "$@"
}
