#!/usr/bin/env bash
# CNI benchmark: ADD and DEL latency (p50, p99) of the wiremesh plugin (through its node-daemon)
# against Debian's reference plugins (bridge + host-local, Go) and a bare JVM start, interleaved,
# N rounds, in a node namespace made here. Also makes the plugin's AOT cache (JDK 25, JEP 514) first.
# Usage: bench/cni.sh [N=30]   (root; after mvn package and scripts/install-deps.sh)
set -euo pipefail
N="${1:-30}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
JAR="$ROOT/cni-plugin/target/wiremesh-cni.jar"
[ -f "$JAR" ] || { echo "build first: JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B package -DskipTests" >&2; exit 1; }
[ -x /usr/lib/cni/bridge ] || { echo "needs containernetworking-plugins (scripts/install-deps.sh)" >&2; exit 1; }
W="$(mktemp -d /tmp/wiremesh-cnibench.XXXXXX)"
NODE=wm-cnibench-node
DAEMON=
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null || true
  for i in $(seq 0 $((N + 1))); do ip netns del "wm-cnibench-p$i" 2>/dev/null || true; done
  ip netns del "$NODE" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$NODE"; ip -n "$NODE" link set lo up
ip netns exec "$NODE" "$ROOT/bin/wiremesh-node-daemon" --pod-cidr 10.88.0.0/22 --state-dir "$W/state" --cni-socket "$W/cni.sock" >"$W/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do [ -S "$W/cni.sock" ] && break; sleep 0.1; done
WM_CONF="{\"cniVersion\":\"1.0.0\",\"name\":\"wm\",\"type\":\"wiremesh\",\"socket\":\"$W/cni.sock\"}"
BR_CONF="{\"cniVersion\":\"1.0.0\",\"name\":\"br\",\"type\":\"bridge\",\"bridge\":\"wmcnibr0\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$W/hl\",\"ranges\":[[{\"subnet\":\"10.89.0.0/22\"}]]}}"

# The AOT cache: one training ADD/DEL against the live daemon (tied to this JDK build and jar).
ip netns add wm-cnibench-p$((N + 1))
rm -f "$JAR.aot"
echo "$WM_CONF" | ip netns exec "$NODE" env CNI_COMMAND=ADD CNI_CONTAINERID=train CNI_NETNS=/var/run/netns/wm-cnibench-p$((N + 1)) \
  CNI_IFNAME=eth0 "$JAVA" -XX:AOTCacheOutput="$JAR.aot" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$JAR" >/dev/null 2>"$W/aot.log"
echo "$WM_CONF" | ip netns exec "$NODE" env CNI_COMMAND=DEL CNI_CONTAINERID=train CNI_IFNAME=eth0 "$ROOT/bin/wiremesh-cni" >/dev/null

# One timed run: prints milliseconds.
cat >"$W/time.sh" <<'T'
#!/usr/bin/env bash
# time.sh CONF COMMAND ID NETNS PLUGIN...
conf="$1"; cmd="$2"; id="$3"; ns="$4"; shift 4
t0=$(date +%s%N)
echo "$conf" | env CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" CNI_NETNS="$ns" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$@" >/dev/null 2>&1 || echo "FAILED $cmd $id" >&2
t1=$(date +%s%N)
echo $(( (t1 - t0) / 1000 ))
T
chmod +x "$W/time.sh"
T() { ip netns exec "$NODE" "$W/time.sh" "$@"; }
: >"$W/samples"
for i in $(seq 1 "$N"); do
  ns=wm-cnibench-p$i
  ip netns add "$ns"
  echo "jvm $(T '{}' VERSION x '' "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -version)" >>"$W/samples"
  echo "wm-add $(T "$WM_CONF" ADD "wm$i" /var/run/netns/$ns "$ROOT/bin/wiremesh-cni")" >>"$W/samples"
  echo "wm-del $(T "$WM_CONF" DEL "wm$i" /var/run/netns/$ns "$ROOT/bin/wiremesh-cni")" >>"$W/samples"
  echo "br-add $(T "$BR_CONF" ADD "br$i" /var/run/netns/$ns /usr/lib/cni/bridge)" >>"$W/samples"
  echo "br-del $(T "$BR_CONF" DEL "br$i" /var/run/netns/$ns /usr/lib/cni/bridge)" >>"$W/samples"
  ip netns del "$ns"
done
pct() { awk -v k="$1" '$1==k {print $2}' "$W/samples" | sort -n | awk -v p="$2" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; printf "%.1f", a[i]/1000}'; }
echo "CNI latency over $N interleaved rounds, ms ($(nproc) cores, $(date -u +%F); wiremesh with AOT cache: $( [ -f "$JAR.aot" ] && echo yes || echo no))"
printf "%-28s %8s %8s\n" what p50 p99
printf "%-28s %8s %8s\n" "bare JVM start (-version)" "$(pct jvm 50)" "$(pct jvm 99)"
printf "%-28s %8s %8s\n" "wiremesh ADD" "$(pct wm-add 50)" "$(pct wm-add 99)"
printf "%-28s %8s %8s\n" "wiremesh DEL" "$(pct wm-del 50)" "$(pct wm-del 99)"
printf "%-28s %8s %8s\n" "bridge+host-local ADD" "$(pct br-add 50)" "$(pct br-add 99)"
printf "%-28s %8s %8s\n" "bridge+host-local DEL" "$(pct br-del 50)" "$(pct br-del 99)"
awk -v a="$(pct wm-add 50)" -v j="$(pct jvm 50)" -v b="$(pct br-add 50)" 'BEGIN { printf "ADD p50: %.2fx the bare JVM start, %.2fx the reference plugins\n", a / j, a / b }'
