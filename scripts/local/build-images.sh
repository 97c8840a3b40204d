#!/usr/bin/env bash
# Builds wiremesh's container images without a container engine or registry, as docker-archive
# tarballs that `ctr image import` reads:
#   localhost/wiremesh/node:<appVersion>      node-daemon, the Java datapath (wiremesh-wg), the CNI plugin, nft, conntrack
#   localhost/wiremesh/operator:<appVersion>  the operator (Quarkus)
#   localhost/wiremesh/cluster-dns:<appVersion>  the local cluster's DNS server (kube-system/kube-dns, scripts/local/dns.sh)
#   localhost/wiremesh/testpod:1              busybox + iperf3 + curl, for test pods
#   localhost/wiremesh/pause:1                the pod sandbox image
# The Java images share one base layer: glibc from this Debian host, a jlink'ed Temurin 25 runtime
# and busybox. Inputs are what `mvn package` built; nothing is downloaded.
#   scripts/local/build-images.sh OUTDIR      prints the tarballs it wrote, one per line
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: build-images.sh OUTDIR}"
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$here/charts/wiremesh/Chart.yaml")"
stage="$out/stage"
mkdir -p "$out" "$stage"
log() { echo "[images] $*" >&2; }

need() { [ -e "$1" ] || { echo "build-images: $1 is missing; run: JAVA_HOME=$JAVA_HOME mvn -B package -DskipTests" >&2; exit 1; }; }
op_app="$here/operator/target/quarkus-app"
node_jar="$(ls "$here"/node-daemon/target/wiremesh-node-daemon-*-all.jar | head -1)"
wg_jar="$(ls "$here"/wireguard/target/wiremesh-wireguard-*-all.jar | head -1)"
cni_jar="$here/cni-plugin/target/wiremesh-cni.jar"
cni_runtime="$here/cni-plugin/target/cni-runtime"
dns_jar="$(ls "$here"/cluster-dns/target/wiremesh-cluster-dns-*-all.jar | head -1)"
for f in "$op_app/quarkus-run.jar" "$node_jar" "$wg_jar" "$cni_jar" "$cni_runtime/bin/java" "$dns_jar"; do need "$f"; done

# The shared libraries ELF files need, as ldd resolves them on this host (none for static files).
needed_libs() {
  { ldd "$@" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/lib64\// {print $1}' | sort -u
}

# Copies the shared libraries ELF files need into a staged root.
copy_libs() {
  local root="$1"; shift
  mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
  needed_libs "$@" | while read -r lib; do
    case "$lib" in
      "$root"/*) ;;  # the runtime's own libraries, found through $ORIGIN
      /lib64/*) cp -L "$lib" "$root/lib64/$(basename "$lib")" ;;
      *) cp -L "$lib" "$root/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
    esac
  done
  find "$root/lib64" "$root/lib/x86_64-linux-gnu" -type f -exec chmod 755 {} +
}

# busybox as /bin/sh and the usual applets (for launchers, probes and `kubectl exec`).
add_busybox() {
  local root="$1"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/usr/bin"
  cp "$(command -v busybox)" "$root/bin/busybox"
  copy_libs "$root" "$root/bin/busybox"   # nothing when it is the static build
  for a in $(busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
}

# Base layer, rebuilt only when the JDK changes.
# The id names what the base layer is made from: a change of the recipe below must change it too.
jdk_id="$("$JAVA_HOME/bin/java" -version 2>&1 | head -1 | tr -cd '[:alnum:].')-cds"
base="$stage/base"
if [ "$(cat "$base.id" 2>/dev/null)" != "$jdk_id" ]; then
  log "assembling the base layer (glibc, jlink runtime, busybox)"
  rm -rf "$base"; mkdir -p "$base/opt"
  "$JAVA_HOME/bin/jlink" --add-modules java.base,java.compiler,java.instrument,java.logging,java.management,java.naming,java.net.http,java.scripting,java.security.jgss,java.sql,java.transaction.xa,java.xml,jdk.crypto.ec,jdk.httpserver,jdk.jfr,jdk.management,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs \
    --strip-debug --no-header-files --no-man-pages --generate-cds-archive --output "$base/opt/jre"
  copy_libs "$base" "$base/opt/jre/bin/java" $(find "$base/opt/jre/lib" -name '*.so')
  add_busybox "$base"
  echo "$jdk_id" >"$base.id"
fi

# node: node-daemon + datapath + CNI plugin (with the plugin's own jlink runtime, copied to the host by the daemon).
node="$stage/node"
rm -rf "$node"; mkdir -p "$node/opt/wiremesh/bin" "$node/opt/wiremesh/lib"
cp "$node_jar" "$node/opt/wiremesh/lib/wiremesh-node-daemon.jar"
cp "$wg_jar" "$node/opt/wiremesh/lib/wiremesh-wireguard.jar"
cp "$cni_jar" "$node/opt/wiremesh/lib/wiremesh-cni.jar"
cp -a "$cni_runtime" "$node/opt/wiremesh/cni-runtime"
# The alternative datapath (datapath.implementation=wireguard-go): the current Debian build (bookworm-backports:
# batched I/O and offloads, fetched once by scripts/wireguard-go-current.sh), which needs only glibc.
cp "$("$(dirname "${BASH_SOURCE[0]}")/../wireguard-go-current.sh")" "$node/opt/wiremesh/bin/wireguard-go"
for lib in $(needed_libs "$node/opt/wiremesh/bin/wireguard-go"); do
  [ -e "$base$lib" ] || [ -e "$base/lib/x86_64-linux-gnu/$(basename "$lib")" ] || { echo "build-images: the base layer lacks $lib for wireguard-go" >&2; exit 1; }
done
# Netfilter's own tools, the only commands the node-daemon runs: nft (its table, `nft -f -`) and conntrack
# (forgetting flows whose path changed).
mkdir -p "$node/usr/sbin"; cp /usr/sbin/nft /usr/sbin/conntrack "$node/usr/sbin/"; copy_libs "$node" /usr/sbin/nft /usr/sbin/conntrack
# The Java datapath's transport AEAD: OpenSSL's ChaCha20-Poly1305 (it falls back to the JDK's cipher without it).
# awk reads all of ldconfig's output (no early exit): under pipefail, ldconfig killed by SIGPIPE would fail the build silently.
libcrypto="$(ldconfig -p | awk '/libcrypto\.so\.3 .*x86-64/ && !found {print $NF; found = 1}')"
[ -n "$libcrypto" ] || { echo "build-images: libcrypto.so.3 (Debian's libssl3) is missing" >&2; exit 1; }
cp -L "$libcrypto" "$node/lib/x86_64-linux-gnu/libcrypto.so.3"; copy_libs "$node" "$libcrypto"
cat >"$node/opt/wiremesh/bin/wiremesh-node-daemon" <<'EOF'
#!/bin/sh
exec /opt/jre/bin/java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -Xms8m -Xmx48m -XX:-UsePerfData ${WIREMESH_NODE_JAVA_OPTS:-} -jar /opt/wiremesh/lib/wiremesh-node-daemon.jar "$@"
EOF
cat >"$node/opt/wiremesh/bin/wiremesh-wg" <<'EOF'
#!/bin/sh
exec /opt/jre/bin/java --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -XX:-TieredCompilation -Xshare:off -Xss512k -Xms8m -Xmx64m -XX:-UsePerfData ${WIREMESH_WG_JAVA_OPTS:-} -jar /opt/wiremesh/lib/wiremesh-wireguard.jar "$@"
EOF
chmod 755 "$node"/opt/wiremesh/bin/*

# operator: Quarkus fast-jar layout.
op="$stage/operator"
rm -rf "$op"; mkdir -p "$op/opt"
cp -a "$op_app" "$op/opt/operator"

# cluster-dns: the shaded jar and its launcher (a small heap: a zone of a few thousand records, two informers).
dns="$stage/cluster-dns"
rm -rf "$dns"; mkdir -p "$dns/opt/wiremesh/bin" "$dns/opt/wiremesh/lib"
cp "$dns_jar" "$dns/opt/wiremesh/lib/wiremesh-cluster-dns.jar"
cat >"$dns/opt/wiremesh/bin/wiremesh-cluster-dns" <<'EOF'
#!/bin/sh
exec /opt/jre/bin/java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -Xms8m -Xmx32m -XX:-UsePerfData ${WIREMESH_DNS_JAVA_OPTS:-} -jar /opt/wiremesh/lib/wiremesh-cluster-dns.jar "$@"
EOF
chmod 755 "$dns/opt/wiremesh/bin/wiremesh-cluster-dns"

# testpod / pause: busybox (+ iperf3 for throughput, curl for HTTP(S) from pods).
tp="$stage/testpod"
rm -rf "$tp"; add_busybox "$tp"; cp /usr/bin/iperf3 /usr/bin/curl "$tp/usr/bin/"; copy_libs "$tp" /usr/bin/iperf3 /usr/bin/curl
pause="$stage/pause"
rm -rf "$pause"; mkdir -p "$pause/bin"; cp "$(command -v busybox)" "$pause/bin/sleep"; copy_libs "$pause" "$pause/bin/sleep"

mk() { python3 "$here/scripts/local/mkimage.py" "$@"; }
log "writing image tarballs into $out"
mk --tag "localhost/wiremesh/node:$version" --out "$out/node.tar" --entrypoint '["/opt/wiremesh/bin/wiremesh-node-daemon"]' --layer "$base" --layer "$node"
mk --tag "localhost/wiremesh/operator:$version" --out "$out/operator.tar" --user 65532 \
   --entrypoint '["/opt/jre/bin/java","-jar","/opt/operator/quarkus-run.jar"]' --layer "$base" --layer "$op"
mk --tag "localhost/wiremesh/cluster-dns:$version" --out "$out/cluster-dns.tar" --user 65532 \
   --entrypoint '["/opt/wiremesh/bin/wiremesh-cluster-dns"]' --layer "$base" --layer "$dns"
mk --tag localhost/wiremesh/testpod:1 --out "$out/testpod.tar" --entrypoint '["/bin/sleep","2147483647"]' --layer "$tp"
mk --tag localhost/wiremesh/pause:1 --out "$out/pause.tar" --entrypoint '["/bin/sleep","2147483647"]' --layer "$pause"
printf '%s\n' "$out/node.tar" "$out/operator.tar" "$out/cluster-dns.tar" "$out/testpod.tar" "$out/pause.tar"
