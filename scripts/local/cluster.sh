# The local cluster's pieces: underlay, control plane, nodes. Sourced by bin/wiremesh-local.
# Topology (nothing in the root network namespace but a loopback listener for kubectl):
#   wml-ul   bridge wml-br 198.19.0.1/24; etcd, kube-apiserver, controller-manager, scheduler
#   wml-nN   eth0 198.19.0.(10+N)/24, default route via the underlay; containerd, kubelet, kube-proxy
#            and every hostNetwork pod (wiremesh's node-daemon and datapath)
#   wml-world  the "outside world" (outside every node and pod range): eth0 198.51.100.2/24, veth to
#            wml-ul's wml-world-ul 198.51.100.1/24; wml-ul forwards between the bridge and it (IPv4
#            forwarding on in wml-ul only). Its only route back is to 198.19.0.0/24, so pod traffic that
#            was not masqueraded to a node address gets no reply. Runs scripts/local/outside.py on :80
#            (access log $WML_DIR/log/outside-access.log) and iperf3 -s on :5201.
# Each node also has its own UTS namespace (hostname wml-nN, which hostNetwork pods report) and its own
# mount namespace, where the node-local directories a real node would
# have to itself (/var/lib/wiremesh, /run/wireguard, /opt/cni/bin, /var/lib/kubelet, ...) are
# per-node directories, so N nodes share one machine the way N machines would not.

# Host paths given to each node as its own (a directory under $WML_DIR/nodes/N/fs each).
WML_NODE_PATHS=(/var/lib/wiremesh /run/wiremesh /run/wireguard /opt/cni/bin /etc/cni/net.d /var/lib/containerd
  /run/containerd /var/lib/kubelet /var/log/pods /var/log/containers /run/netns)

wml_underlay_up() {
  if ! ip netns list | grep -qw "$WML_UL"; then
    ip netns add "$WML_UL"
    ip -n "$WML_UL" link set lo up
    ip -n "$WML_UL" link add wml-br type bridge
    ip -n "$WML_UL" addr add "$WML_UL_IP/24" dev wml-br
    ip -n "$WML_UL" link set wml-br up
  fi
  wml_world_up
}

# The outside world (see the top of this file) and its two servers.
wml_world_up() {
  local w=(nsenter --net="/run/netns/$WML_WORLD")
  if ! ip netns list | grep -qw "$WML_WORLD"; then
    ip netns add "$WML_WORLD"
    ip -n "$WML_WORLD" link set lo up
    ip link add wml-world-ul netns "$WML_UL" type veth peer name eth0 netns "$WML_WORLD"
    ip -n "$WML_UL" addr add "$WML_WORLD_GW/24" dev wml-world-ul
    ip -n "$WML_UL" link set wml-world-ul up
    ip -n "$WML_WORLD" addr add "$WML_OUTSIDE_IP/24" dev eth0
    ip -n "$WML_WORLD" link set eth0 up
    ip -n "$WML_WORLD" route add "${WML_UL_IP%.*}.0/24" via "$WML_WORLD_GW"
  fi
  # Inside wml-ul only: the root namespace's sysctls stay as they are.
  nsenter --net="/run/netns/$WML_UL" sysctl -qw net.ipv4.ip_forward=1
  wml_alive outside-http || wml_start outside-http "${w[@]}" /usr/bin/python3 "$WML_ROOT/scripts/local/outside.py" \
    --bind "$WML_OUTSIDE_IP" --port 80 --log "$WML_DIR/log/outside-access.log"
  wml_alive outside-iperf3 || wml_start outside-iperf3 "${w[@]}" iperf3 -s -B "$WML_OUTSIDE_IP" -p 5201
  wml_wait 15 "the outside web server" wml_listening "$WML_WORLD" "$WML_OUTSIDE_IP:80"
  wml_wait 15 "the outside iperf3 server" wml_listening "$WML_WORLD" "$WML_OUTSIDE_IP:5201"
}

# Stops the outside world's recorded servers and removes its namespace (and with it the veth pair).
wml_world_down() {
  wml_stop outside-http outside-iperf3
  ip netns del "$WML_WORLD" 2>/dev/null || true
}

wml_control_plane_up() {
  local p="$WML_DIR/pki" ul=(nsenter --net="/run/netns/$WML_UL")
  mkdir -p "$WML_DIR/etcd"; chmod 700 "$WML_DIR/etcd"
  wml_alive etcd || wml_start etcd "${ul[@]}" etcd --name wml --data-dir "$WML_DIR/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster wml=http://127.0.0.1:2380
  wml_alive kube-apiserver || wml_start kube-apiserver "${ul[@]}" "$WML_BIN/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 --bind-address="$WML_UL_IP" --advertise-address="$WML_UL_IP" \
    --secure-port=6443 --insecure-port=0 --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --client-ca-file="$p/ca.crt" --token-auth-file="$p/tokens.csv" --authorization-mode=RBAC \
    --service-cluster-ip-range="$WML_SERVICE_CIDR" --allow-privileged=true \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --kubelet-client-certificate="$p/kubelet-client.crt" --kubelet-client-key="$p/kubelet-client.key" \
    --kubelet-certificate-authority= --kubelet-preferred-address-types=InternalIP
  # Root-namespace clients reach the API through a unix-socket hop to a loopback port.
  wml_alive api-hop-ul || wml_start api-hop-ul "${ul[@]}" socat "UNIX-LISTEN:$WML_DIR/api.sock,fork,mode=600,unlink-early" "TCP:$WML_UL_IP:6443"
  wml_alive api-hop || wml_start api-hop socat "TCP-LISTEN:$WML_LOCAL_API_PORT,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$WML_DIR/api.sock"
  wml_wait 90 "the API server" wml_kubectl get --raw /readyz
  wml_alive kube-controller-manager || wml_start kube-controller-manager "${ul[@]}" "$WML_BIN/kube-controller-manager" \
    --kubeconfig="$p/controller-manager.kubeconfig" --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
    --use-service-account-credentials=false --leader-elect=false --bind-address=127.0.0.1 --secure-port=0 --port=0 \
    --allocate-node-cidrs=false --controllers='*,-nodeipam,-cloud-node-lifecycle,-service,-route' \
    --node-monitor-grace-period=20s --pod-eviction-timeout=30s
  wml_alive kube-scheduler || wml_start kube-scheduler "${ul[@]}" "$WML_BIN/kube-scheduler" \
    --kubeconfig="$p/scheduler.kubeconfig" --leader-elect=false --bind-address=127.0.0.1 --secure-port=10259 --port=0 \
    --authentication-kubeconfig="$p/scheduler.kubeconfig" --authorization-kubeconfig="$p/scheduler.kubeconfig" \
    --cert-dir="$WML_DIR/scheduler-certs"
}

# The node's mount namespace: per-node directories over the node-local paths, and fake values for
# the global sysctls kubelet and kube-proxy would otherwise change on the whole machine.
wml_node_mounts() {
  local n="$1" d="$WML_DIR/nodes/$1" mnt="$WML_DIR/ns/n$1.mnt" path
  [ -f "$mnt" ] && nsenter --mount="$mnt" true 2>/dev/null && return 0
  mkdir -p "$WML_DIR/ns" "$d/fs" "$d/fake"
  # unshare needs the file that keeps the namespace on a private mount.
  mountpoint -q "$WML_DIR/ns" || { mount --bind "$WML_DIR/ns" "$WML_DIR/ns"; mount --make-private "$WML_DIR/ns"; }
  touch "$mnt"
  unshare --mount="$mnt" --propagation private true
  for path in "${WML_NODE_PATHS[@]}"; do
    mkdir -p "$d/fs$path"
    if [ ! -d "$path" ]; then mkdir -p "$path"; echo "$path" >>"$WML_DIR/created-dirs"; fi
    nsenter --mount="$mnt" mount --bind "$d/fs$path" "$path"
    # Shared, so pod network namespaces made later reach hostPath mounts (HostToContainer) of running pods.
    nsenter --mount="$mnt" mount --make-shared "$path"
  done
  # containerd checks HostToContainer hostPaths without resolving /var/run -> /run, so it finds "/":
  # make "/" shared inside this namespace only (it has no peer outside: the namespace was made private).
  nsenter --mount="$mnt" mount --make-shared /
  local fake
  for fake in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
              kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000 net/netfilter/nf_conntrack_max=131072; do
    local key="${fake%%=*}" file="$d/fake/$(echo "${fake%%=*}" | tr / _)"
    [ -e "/proc/sys/$key" ] || continue
    echo "${fake#*=}" >"$file"
    nsenter --mount="$mnt" mount --bind "$file" "/proc/sys/$key"
  done
  # containerd sets up each pod's loopback with the reference plugin; the mesh plugin is installed by the node-daemon.
  cp /usr/lib/cni/loopback /usr/lib/cni/portmap "$d/fs/opt/cni/bin/"
}

wml_node_netns() {
  local n="$1" ip; ip=$(wml_node_ip "$1")
  ip netns list | grep -qw "wml-n$n" && return 0
  ip netns add "wml-n$n"
  ip -n "wml-n$n" link set lo up
  ip link add "wml-n$n-ul" netns "$WML_UL" type veth peer name eth0 netns "wml-n$n"
  ip -n "$WML_UL" link set "wml-n$n-ul" master wml-br up
  ip -n "wml-n$n" addr add "$ip/24" dev eth0
  ip -n "wml-n$n" link set eth0 up
  ip -n "wml-n$n" route add default via "$WML_UL_IP"
}

wml_containerd_config() {
  cat <<'EOF'
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/wiremesh/pause:1"
  enable_selinux = false
  # No CAP_SYS_RESOURCE here: runc must not lower oom_score_adj below the caller's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
EOF
}

# wml_node_uts N: node N's UTS namespace, whose hostname is the node's name (as on a machine of its own).
wml_node_uts() {
  local uts="$WML_DIR/ns/n$1.uts"
  [ -f "$uts" ] && nsenter --uts="$uts" true 2>/dev/null && return 0
  touch "$uts"
  unshare --uts="$uts" hostname "wml-n$1"
}

# wml_node_up N: namespaces, containerd (+ images), kubelet and kube-proxy of node N.
wml_node_up() {
  local n="$1" d="$WML_DIR/nodes/$1" ip p="$WML_DIR/pki" img
  local ns=(nsenter --net="/run/netns/wml-n$1" --mount="$WML_DIR/ns/n$1.mnt" --uts="$WML_DIR/ns/n$1.uts")
  ip=$(wml_node_ip "$n")
  mkdir -p "$d"
  wml_node_netns "$n"
  wml_node_mounts "$n"
  wml_node_uts "$n"
  wml_containerd_config >"$d/containerd.toml"
  # containerd puts containers under <controller>/k8s.io: remember to remove that parent if it is ours.
  local cg
  for cg in /sys/fs/cgroup/*/; do
    [ -d "${cg}k8s.io" ] || [ ! -f "${cg}cgroup.procs" ] || grep -qx "${cg}k8s.io" "$WML_DIR/created-dirs" 2>/dev/null || echo "${cg}k8s.io" >>"$WML_DIR/created-dirs"
  done
  wml_alive "containerd-n$n" || wml_start "containerd-n$n" "${ns[@]}" containerd -c "$d/containerd.toml"
  wml_wait 30 "containerd on node $n" wml_in_node "$n" ctr version
  for img in "$WML_DIR"/images/*.tar; do
    wml_in_node "$n" ctr -n k8s.io image import "$img" >/dev/null
  done
  wml_alive "kubelet-n$n" || wml_start "kubelet-n$n" "${ns[@]}" "$WML_BIN/kubelet" \
    --kubeconfig="$p/kubelet-n$n.kubeconfig" --hostname-override="wml-n$n" --node-ip="$ip" --address="$ip" --port=10250 \
    --container-runtime=remote --container-runtime-endpoint=unix:///run/containerd/containerd.sock \
    --cert-dir="$d/kubelet-pki" --volume-plugin-dir="$d/volume-plugins" --pod-infra-container-image=localhost/wiremesh/pause:1 \
    --cgroup-driver=cgroupfs --cgroups-per-qos=false --enforce-node-allocatable= --fail-swap-on=false \
    --make-iptables-util-chains=false --read-only-port=0 --healthz-port=0 \
    --anonymous-auth=false --client-ca-file="$p/ca.crt" --authorization-mode=AlwaysAllow \
    --eviction-hard= --image-gc-high-threshold=100 --image-gc-low-threshold=99 --serialize-image-pulls=false \
    --node-status-update-frequency=4s --cluster-dns="$WML_DNS_IP" --cluster-domain="$WML_CLUSTER_DOMAIN"
  # Health and metrics where upstream (kubeadm) puts them: healthz on every address of the node, metrics on loopback.
  wml_alive "kube-proxy-n$n" || wml_start "kube-proxy-n$n" "${ns[@]}" "$WML_BIN/kube-proxy" \
    --kubeconfig="$p/kube-proxy.kubeconfig" --hostname-override="wml-n$n" --bind-address=0.0.0.0 \
    --proxy-mode=iptables --cluster-cidr="$WML_POD_CIDR" --healthz-bind-address=0.0.0.0:10256 --metrics-bind-address=127.0.0.1:10249 \
    --conntrack-max-per-core=0 --conntrack-min=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
    --oom-score-adj=0
}

# wml_node_down N: stops node N's pods, daemons and namespaces and removes its directory.
wml_node_down() {
  local n="$1" d="$WML_DIR/nodes/$1" mnt="$WML_DIR/ns/n$1.mnt" id
  wml_stop "kubelet-n$n" "kube-proxy-n$n"
  if wml_alive "containerd-n$n"; then
    for id in $(wml_in_node "$n" ctr -n k8s.io task ls -q 2>/dev/null); do
      wml_in_node "$n" ctr -n k8s.io task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $(wml_in_node "$n" ctr -n k8s.io task ls -q 2>/dev/null); do
      wml_in_node "$n" ctr -n k8s.io task rm -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(wml_in_node "$n" ctr -n k8s.io container ls -q 2>/dev/null); do
      wml_in_node "$n" ctr -n k8s.io container rm "$id" >/dev/null 2>&1 || true
    done
  fi
  wml_stop "containerd-n$n"
  # Whatever still runs in the node's namespaces (shims, pods) was started by this cluster.
  wml_kill_in_namespaces "$mnt" "/run/netns/wml-n$n"
  if [ -f "$mnt" ]; then
    # Pod network namespaces and overlay mounts live in the node's mount namespace: unmount, then drop it.
    nsenter --mount="$mnt" sh -c 'for m in $(awk "{print \$5}" /proc/self/mountinfo | grep -E "^/run/netns/cni-|^/run/containerd/|^/var/lib/kubelet/|^/var/lib/containerd/" | sort -r); do umount -l "$m" 2>/dev/null; done' || true
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    rm -f "$mnt"
  fi
  if [ -f "$WML_DIR/ns/n$n.uts" ]; then
    umount "$WML_DIR/ns/n$n.uts" 2>/dev/null || umount -l "$WML_DIR/ns/n$n.uts" 2>/dev/null || true
    rm -f "$WML_DIR/ns/n$n.uts"
  fi
  ip netns del "wml-n$n" 2>/dev/null || true
  ip -n "$WML_UL" link del "wml-n$n-ul" 2>/dev/null || true
  rm -rf "$d"
}

# wml_kill_in_namespaces MNT_NS_FILE NET_NS_FILE: SIGKILL processes whose mount or network
# namespace is one of these (both were created by this cluster, so are these processes).
wml_kill_in_namespaces() {
  local mnt_ino="" net_ino="" pid
  [ -e "$1" ] && mnt_ino=$(stat -L -c %i "$1" 2>/dev/null || true)
  [ -e "$2" ] && net_ino=$(stat -L -c %i "$2" 2>/dev/null || true)
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$pid" = "$$" ] && continue
    local m n
    m=$(stat -L -c %i "/proc/$pid/ns/mnt" 2>/dev/null || true)
    n=$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null || true)
    if { [ -n "$mnt_ino" ] && [ "$m" = "$mnt_ino" ]; } || { [ -n "$net_ino" ] && [ "$n" = "$net_ino" ]; }; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

wml_control_plane_down() {
  wml_stop kube-scheduler kube-controller-manager
  # kube-apiserver 1.20 drains connections for minutes after SIGTERM; its state is about to be deleted anyway.
  WML_STOP_WAIT=50 wml_stop kube-apiserver
  wml_stop etcd api-hop api-hop-ul
  wml_kill_in_namespaces "" "/run/netns/$WML_UL"
  ip netns del "$WML_UL" 2>/dev/null || true
}
