# Shell helpers: WireGuard tunnels between network namespaces. Sourced by bin/wiremesh-demo and bench/.
# Everything lives in namespaces named ${WM_PREFIX}*; wm_cleanup removes them and the processes started here.
WM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WM_PREFIX="${WM_PREFIX:-wm-}"
WM_PIDS=()
declare -A WM_PID_OF=()   # interface name -> datapath process
WM_NS=()
WM_IFS=()
umask 077
WM_TMP="$(mktemp -d /tmp/wiremesh.XXXXXX)"

wm_cleanup() {
  for pid in "${WM_PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${WM_PIDS[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # What else runs in our namespaces is ours too (e.g. an iperf3 -D server whose client never came).
  for ns in "${WM_NS[@]:-}"; do [ -n "$ns" ] && { ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; }; done
  for ns in "${WM_NS[@]:-}"; do [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true; done
  for i in "${WM_IFS[@]:-}"; do [ -n "$i" ] && rm -f "/var/run/wireguard/$i.sock"; done
  rm -rf "$WM_TMP"
}

# wm_pair A B SUBNET: namespaces ${WM_PREFIX}A and ${WM_PREFIX}B joined by a veth, SUBNET.1 and SUBNET.2 (/24)
wm_pair() {
  local a="${WM_PREFIX}$1" b="${WM_PREFIX}$2" net="$3"
  ip netns add "$a"; WM_NS+=("$a")
  ip netns add "$b"; WM_NS+=("$b")
  ip link add "u$1" netns "$a" type veth peer name "u$2" netns "$b"
  for x in "$a:u$1:1" "$b:u$2:2"; do
    IFS=: read -r ns link host <<<"$x"
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$link.disable_ipv6=1"
    ip -n "$ns" addr add "$net.$host/24" dev "$link"
    ip -n "$ns" link set "$link" up
    ip -n "$ns" link set lo up
  done
}

# wm_start IMPL NS IFNAME: IMPL is java, go (Debian's wireguard-go) or go23 (the current one,
# scripts/wireguard-go-current.sh, path in WM_GO_CURRENT); waits for the UAPI socket
wm_start() {
  local impl="$1" ns="${WM_PREFIX}$2" ifname="$3" cmd
  case "$impl" in
    java) cmd="$WM_ROOT/bin/wiremesh-wg" ;;
    go23) cmd="${WM_GO_CURRENT:?set WM_GO_CURRENT=\$(scripts/wireguard-go-current.sh)}" ;;
    *) cmd="wireguard-go" ;;
  esac
  ip netns exec "$ns" "$cmd" -f "$ifname" >"$WM_TMP/$ifname.log" 2>&1 &
  WM_PIDS+=("$!"); WM_IFS+=("$ifname"); WM_PID_OF[$ifname]=$!
  for _ in $(seq 200); do [ -S "/var/run/wireguard/$ifname.sock" ] && return 0; sleep 0.05; done
  echo "$impl interface $ifname did not start:" >&2; cat "$WM_TMP/$ifname.log" >&2; return 1
}

# wm_tunnel IMPL_A A IF_A IMPL_B B IF_B UNDERLAY OVERLAY: two interfaces, keys, wg config, addresses
wm_tunnel() {
  local ia="$1" a="$2" ifa="$3" ib="$4" b="$5" ifb="$6" ul="$7" ol="$8"
  wm_pair "$a" "$b" "$ul"
  wm_start "$ia" "$a" "$ifa"
  wm_start "$ib" "$b" "$ifb"
  wg genkey >"$WM_TMP/$a.key"; wg genkey >"$WM_TMP/$b.key"
  local pa pb; pa=$(wg pubkey <"$WM_TMP/$a.key"); pb=$(wg pubkey <"$WM_TMP/$b.key")
  ip netns exec "$WM_PREFIX$a" wg set "$ifa" private-key "$WM_TMP/$a.key" listen-port 51820 \
    peer "$pb" endpoint "$ul.2:51820" allowed-ips "$ol.2/32"
  ip netns exec "$WM_PREFIX$b" wg set "$ifb" private-key "$WM_TMP/$b.key" listen-port 51820 \
    peer "$pa" endpoint "$ul.1:51820" allowed-ips "$ol.1/32"
  ip -n "$WM_PREFIX$a" addr add "$ol.1/24" dev "$ifa"; ip -n "$WM_PREFIX$a" link set "$ifa" up
  ip -n "$WM_PREFIX$b" addr add "$ol.2/24" dev "$ifb"; ip -n "$WM_PREFIX$b" link set "$ifb" up
}

# wm_iperf NS_CLIENT SERVER_NS TARGET SECONDS STREAMS -> prints Gbit/s (receiver side)
wm_iperf() {
  local c="${WM_PREFIX}$1" s="${WM_PREFIX}$2" target="$3" secs="$4" streams="$5"
  ip netns exec "$s" iperf3 -s -1 -D -p 5201 >/dev/null 2>&1
  for _ in $(seq 50); do ip netns exec "$s" ss -ltnH 2>/dev/null | grep -q ':5201 ' && break; sleep 0.05; done
  ip netns exec "$c" iperf3 -c "$target" -p 5201 -t "$secs" -P "$streams" -J 2>/dev/null |
    python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}

# wm_ping NS TARGET COUNT -> prints average RTT in ms
wm_ping() {
  ip netns exec "${WM_PREFIX}$1" ping -q -c "$3" -i 0.05 -W 2 "$2" | awk -F/ '/^rtt/ {print $5}'
}

# wm_sample ROUND PATH CLIENT SERVER TARGET SECS OUT: one interleaved sample (iperf3 1 and 4 streams, ping
# RTT) of PATH, printed as a table row and appended to OUT as "PATH tput1 tput4 rtt".
wm_sample() {
  local t1 t4 rtt
  t1=$(wm_iperf "$3" "$4" "$5" "$6" 1)
  t4=$(wm_iperf "$3" "$4" "$5" "$6" 4)
  rtt=$(wm_ping "$3" "$5" 50)
  printf "%5s %-5s %13s %13s %7s\n" "$1" "$2" "$t1" "$t4" "$rtt"
  echo "$2 $t1 $t4 $rtt" >>"$7"
}

wm_median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# wm_cpu PID... -> CPU seconds (user + system) the processes used so far
wm_cpu() {
  local hz; hz=$(getconf CLK_TCK)
  for pid in "$@"; do awk '{print $14 + $15}' "/proc/$pid/stat"; done | awk -v hz="$hz" '{t += $1} END {printf "%.2f\n", t / hz}'
}

# wm_mem FIELD PID... -> the mean of FIELD (VmRSS: now, VmHWM: peak) over the processes, in MB
wm_mem() {
  local f="$1"; shift
  for pid in "$@"; do awk -v f="$f:" '$1 == f {print $2}' "/proc/$pid/status"; done | awk '{t += $1; n++} END {printf "%.0f\n", t / n / 1024}'
}
