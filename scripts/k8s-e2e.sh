#!/usr/bin/env bash
# Kubernetes' own end-to-end network tests (v1.20.2) against the local cluster (bin/wiremesh-local).
#   scripts/k8s-e2e.sh build                 build e2e.test, agnhost and the test images, offline, once
#                                            (cached beside the Kubernetes binaries, ~10 minutes the first time)
#   scripts/k8s-e2e.sh run [--all|--ci] [--nodes N] [--parallel P] [--focus REGEX] [--keep]
#                                            run the selection (--all: every test a CNI answers for, the default;
#                                            --ci: the representative part CI runs) on the running local cluster,
#                                            or on one it brings up with N nodes (default 3) and takes down after
#                                            (--keep leaves it up); P tests at a time (default 3), those marked
#                                            [Serial] alone; prints passed, failed and skipped tests by name
#   scripts/k8s-e2e.sh list [--all|--ci]     the tests the selection runs, and those it skips with the reason
# Results (JUnit XML, the suite's log, summary.txt) go to $WIREMESH_E2E_REPORT (default /var/lib/wiremesh-e2e).
# The test process runs in a network namespace of its own on the cluster's underlay (wml-e2e) and a mount
# namespace whose /etc/hosts answers google.com with a local stub: the Networking tests fetch http://google.com
# from the test process before each test, and this machine has no internet.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/scripts/local/common.sh"
CACHE="${WIREMESH_K8S_CACHE:-/var/cache/wiremesh}"
W="$CACHE/build-k8s-1.20.2"
OUT="$CACHE/k8s-1.20.2/e2e"
REPORT="${WIREMESH_E2E_REPORT:-/var/lib/wiremesh-e2e}"
E2E_NS=wml-e2e
E2E_IP=198.19.0.250           # the test process's address on the cluster's underlay (wml-br)
log() { printf '[k8s-e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'k8s-e2e: %s\n' "$*" >&2; exit 1; }

# ---- the selection ---------------------------------------------------------------------------------------
# What a CNI answers for: pod networking, Services through kube-proxy over it, conntrack, DNS, hostPort, NoSNAT,
# NetworkPolicy.
FOCUS_ALL='\[sig-network\] (Networking|Services|Conntrack|DNS|NoSNAT|NetworkPolicy) |\[sig-scheduling\] SchedulerPredicates \[Serial\] validates that there (is no|exists) conflict between pods with same hostPort'
# The representative part CI runs: pod-pod, pod-node and node-pod (http, udp), Services by ClusterIP and
# NodePort (http, udp), hostPort, conntrack, DNS, and NetworkPolicy (default deny, selectors, ports, named ports,
# ipBlock except, the API).
FOCUS_CI='should support a .default-deny-(ingress|all). policy|should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector \[Feature:NetworkPolicy\]|NetworkPolicy between server and client should enforce policy based on Ports|should allow egress access on one named port|should enforce except clause while egress access|NetworkPolicy API should support creating NetworkPolicy API operations|Granular Checks: Pods should function for (intra-pod|node-pod) communication: (http|udp)|Granular Checks: Services should function for (pod-Service|node-Service|endpoint-Service): (http|udp)|Granular Checks: Services should (support basic nodePort: udp functionality|function for service endpoints using hostNetwork)|Networking should check kube-proxy urls|Conntrack should be able to preserve UDP traffic when server pod cycles for a NodePort service|Services should be able to create a functioning NodePort service|DNS should provide DNS for services |DNS should provide DNS for the cluster |validates that there is no conflict between pods with same hostPort but different hostIP and protocol'
# Never selected: not a CNI's business, or needs what no cluster of this kind has. One pattern per line:
# "regex<TAB>reason". Everything skipped is named in the summary with its reason.
SKIPS=$(cat <<'EOF'
\[Feature:SCTPConnectivity\]|\[sig-network\] SCTP \[Feature:SCTP\]	SCTP traffic: this machine's kernel has no SCTP (no sctp module, no /proc/net/sctp), so no pod can open an SCTP socket
\[Disruptive\]	restarts components or edits nodes over SSH; the e2e framework's provider "skeleton" has no SSH to the local cluster's nodes
LoadBalancer|load balancer|loadbalancer|LB health check|ESIPP|\[Feature:Ingress|Loadbalancing|Firewall rule|network tiers|\[Feature:NEG\]	needs a cloud load balancer or cloud firewall (no cloud provider here)
IPv6|\[Feature:IPv6DualStack|DualStack	the local cluster is IPv4-only (Kubernetes 1.20's dual-stack is alpha)
\[Feature:Networking-IPv4\]|should provide Internet connection for containers	reaches 8.8.8.8 on the internet, which this machine cannot
\[Feature:Example\]|\[Feature:PerformanceDNS\]|\[Feature:Networking-Performance\]|\[Experimental\]	examples and performance runs, not pass/fail checks
should support configurable pod resolv.conf	runs CoreDNS from upstream's agnhost image (/coredns): neither Debian nor this machine's registries have CoreDNS
DNS configMap	replaces the cluster DNS's CoreDNS configuration (kube-system/coredns ConfigMap); the local cluster's DNS is not CoreDNS
\[Feature:ServiceTopology\]|\[Feature:EndpointSlice|\[Feature:PodSecurityPolicy\]|\[Feature:Topology	behind alpha feature gates the local cluster does not enable
\[Provider:GCE\]|GCE|\[Feature:GKE	cloud-provider (GCE/GKE) specific
\[sig-windows\]	Windows nodes only
pod-Service\(hostNetwork\): udp	the 1.20 suite skips it itself (kubernetes#95565: UDP to a host-network endpoint on the client's own node)
EOF
)

skip_regex() { printf '%s\n' "$SKIPS" | cut -f1 | paste -sd'|'; }

# ---- build -----------------------------------------------------------------------------------------------
go_env() {
  export GO111MODULE=off GOPATH="$W/gopath" GOCACHE="$W/gocache" GOPROXY=off GOFLAGS= CGO_ENABLED=0
}

ldflags() {
  local p ld="-s -w"
  for p in k8s.io/kubernetes/vendor/k8s.io/component-base/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=v1.20.2 -X $p.gitMajor=1 -X $p.gitMinor=20 -X $p.gitTreeState=clean"
  done
  echo "$ld"
}

# The test tools the images carry, from this machine's Debian packages.
E2E_PKGS=(bind9-dnsutils netcat-openbsd curl wget iproute2 bash libc-bin busybox)

build() {
  local t0=$SECONDS
  # The source tree, its fixes and the Go cache come from the Kubernetes build.
  "$here/scripts/build-kube-apiserver.sh" >/dev/null
  local missing=() p
  for p in "${E2E_PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  go_env
  local src="$W/gopath/src/k8s.io/kubernetes"
  [ -d "$src/test/e2e" ] || die "$src/test/e2e is missing (the Kubernetes source tree of scripts/build-kube-apiserver.sh)"
  mkdir -p "$OUT"
  if [ ! -x "$OUT/e2e.test" ]; then
    # The test manifests compiled into the binary (what hack/generate-bindata.sh does for test/e2e).
    if [ ! -f "$src/test/e2e/generated/bindata.go" ]; then
      log "generating test/e2e/generated/bindata.go"
      (cd "$src" && GOBIN="$W/tools" go install ./vendor/github.com/go-bindata/go-bindata/go-bindata)
      (cd "$src" && "$W/tools/go-bindata" -nometadata -o test/e2e/generated/bindata.go.tmp -pkg generated \
        -ignore .jpg -ignore .png -ignore .md -ignore 'BUILD(\.bazel)?' \
        test/conformance/testdata/... test/e2e/testing-manifests/... test/e2e_node/testing-manifests/... test/images/... test/fixtures/... \
        && mv test/e2e/generated/bindata.go.tmp test/e2e/generated/bindata.go)
    fi
    log "compiling e2e.test (about 8 minutes on 2 cores, the first time)"
    (cd "$src" && nice -n 10 go test -c -ldflags "$(ldflags)" -o "$OUT/e2e.test.tmp" ./test/e2e) && mv "$OUT/e2e.test.tmp" "$OUT/e2e.test"
  fi
  if [ ! -x "$OUT/ginkgo" ]; then
    log "compiling ginkgo (the suite's parallel runner)"
    (cd "$src" && nice -n 10 go build -o "$OUT/ginkgo.tmp" ./vendor/github.com/onsi/ginkgo/ginkgo) && mv "$OUT/ginkgo.tmp" "$OUT/ginkgo"
  fi
  if [ ! -x "$OUT/agnhost" ]; then
    log "compiling agnhost"
    (cd "$src" && nice -n 10 go build -ldflags "$(ldflags)" -o "$OUT/agnhost.tmp" ./test/images/agnhost) && mv "$OUT/agnhost.tmp" "$OUT/agnhost"
  fi
  images
  log "built in $((SECONDS - t0)) s: $OUT"
}

# needed_libs/copy_libs: the shared libraries of ELF files, as ldd resolves them here, copied into a staged root.
copy_libs() {
  local root="$1"; shift
  mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
  { ldd "$@" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/lib64\// {print $1}' | sort -u |
  while read -r lib; do
    case "$lib" in
      /lib64/*) cp -L "$lib" "$root/lib64/" ;;
      *) cp -L "$lib" "$root/lib/x86_64-linux-gnu/" ;;
    esac
  done
}

# add_busybox ROOT: busybox's applets in /bin; the real tools installed later take precedence ($PATH order).
add_busybox() {
  local root="$1" a
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/usr/bin" "$root/usr/sbin"
  cp "$(command -v busybox)" "$root/bin/busybox"
  copy_libs "$root" "$root/bin/busybox"
  for a in $(busybox --list); do [ "$a" = busybox ] || [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  chmod 1777 "$root/tmp"
}

# add_tools ROOT FILE...: host binaries (with their libraries) at the same paths; bash is /bin/sh, since
# busybox's shell would run its own applets (its nc has no -u) before the real tools on $PATH.
add_tools() {
  local root="$1" f; shift
  for f in "$@"; do
    rm -f "$root/bin/$(basename "$f")" "$root$f"   # busybox's applet of that name, if any
    mkdir -p "$root$(dirname "$f")"; cp -L "$f" "$root$f"
  done
  copy_libs "$root" "$@"
  rm -f "$root/bin/sh" "$root/bin/nc"
  ln -s bash "$root/bin/sh"
  # glibc's name service modules, for getent and the resolver of dynamically linked tools.
  cp -L /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2 "$root/lib/x86_64-linux-gnu/" 2>/dev/null || true
}

images() {
  local st="$OUT/stage" src="$W/gopath/src/k8s.io/kubernetes" mk=(python3 "$here/scripts/local/mkimage.py")
  # The id names what the images are made from (this script, agnhost): a change of either rebuilds them.
  local id; id=$(cat "$0" "$OUT/agnhost" | sha256sum | cut -c1-16)
  [ "$(cat "$OUT/images/.id" 2>/dev/null)" = "$id" ] && return 0
  rm -rf "$st" "$OUT/images"; mkdir -p "$st" "$OUT/images"
  log "assembling the test images"
  # agnhost: the one binary, shared by the agnhost and pause images.
  mkdir -p "$st/agnhost-bin"
  cp "$OUT/agnhost" "$st/agnhost-bin/agnhost"; ln -s agnhost "$st/agnhost-bin/agnhost-2"
  # The tools layer: what upstream's agnhost image adds to its base (dig/nslookup, curl, OpenBSD netcat,
  # iproute2, bash), plus getent and hostname for the DNS probes, and wget.
  local tools="$st/tools"
  add_busybox "$tools"
  # GNU wget too: Debian's busybox 1.35 crashes on `wget -T` (which the Services tests use), static build included.
  add_tools "$tools" /bin/bash /usr/bin/dig /usr/bin/nslookup /usr/bin/host /usr/bin/curl /usr/bin/wget /bin/nc.openbsd \
    /bin/ip /bin/ss /usr/bin/getent /bin/hostname
  ln -sf /bin/nc.openbsd "$tools/usr/bin/nc"
  mkdir -p "$tools/uploads"
  cp "$src/test/images/agnhost/porter/localhost.crt" "$src/test/images/agnhost/porter/localhost.key" "$tools/"
  # busybox:1.29: busybox alone, its own shell.
  local bb="$st/busybox"; add_busybox "$bb"
  "${mk[@]}" --tag k8s.gcr.io/e2e-test-images/agnhost:2.21 --out "$OUT/images/agnhost.tar" \
    --entrypoint '["/agnhost"]' --cmd '["pause"]' --layer "$tools" --layer "$st/agnhost-bin"
  "${mk[@]}" --tag gcr.io/kubernetes-e2e-test-images/jessie-dnsutils:1.0 --out "$OUT/images/jessie-dnsutils.tar" \
    --entrypoint '[]' --cmd '["/bin/sh"]' --layer "$tools"
  "${mk[@]}" --tag k8s.gcr.io/pause:3.2 --out "$OUT/images/pause.tar" --entrypoint '["/agnhost","pause"]' --layer "$st/agnhost-bin"
  "${mk[@]}" --tag docker.io/library/busybox:1.29 --out "$OUT/images/busybox.tar" --entrypoint '[]' --cmd '["sh"]' --layer "$bb"
  rm -rf "$st"
  echo "$id" >"$OUT/images/.id"
}

# ---- run -------------------------------------------------------------------------------------------------
cluster_up() { [ -f "$WML_DIR/admin.kubeconfig" ]; }

import_images() {
  local n img
  for n in $(wml_nodes); do
    for img in "$OUT"/images/*.tar; do wml_in_node "$n" ctr -n k8s.io image import "$img" >/dev/null; done
  done
}

# The test process's namespace: a port on the underlay switch (like a machine beside the nodes), a stub
# web server on its own loopback for the suite's google.com check.
e2e_ns_up() {
  ! ip netns list | grep -qw "$E2E_NS" || die "netns $E2E_NS exists: another run of this script is going on (or was killed: ip netns del $E2E_NS)"
  ip netns add "$E2E_NS"
  NS_OURS=1
  ip -n "$E2E_NS" link set lo up
  ip link add wml-e2e-ul netns "$WML_UL" type veth peer name eth0 netns "$E2E_NS"
  ip -n "$WML_UL" link set wml-e2e-ul master wml-br up
  ip -n "$E2E_NS" addr add "$E2E_IP/24" dev eth0
  ip -n "$E2E_NS" link set eth0 up
  mkdir -p "$REPORT/www"; echo ok >"$REPORT/www/index.html"
  wml_start e2e-stub-web nsenter --net="/run/netns/$E2E_NS" python3 -m http.server --bind 127.0.0.1 --directory "$REPORT/www" 80
  wml_wait 15 "the stub web server" wml_listening "$E2E_NS" 127.0.0.1:80
}

e2e_ns_down() {
  [ "$NS_OURS" = 1 ] || return 0
  wml_stop e2e-stub-web 2>/dev/null || true
  ip netns del "$E2E_NS" 2>/dev/null || true
  ip -n "$WML_UL" link del wml-e2e-ul 2>/dev/null || true
}

# summarize FOCUS JUNIT...: passed and failed tests by name; the selected tests that were skipped, by name with
# the reason (the pattern of SKIPS that matched, or what the suite itself said, e.g. a provider check).
summarize() {
  python3 - "$SKIPS" "$@" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
skips = [l.split("\t", 1) for l in sys.argv[1].splitlines() if "\t" in l]
focus = re.compile(sys.argv[2])
# Every JUnit file lists every spec (a parallel run writes one per process, each with the others' specs as skipped):
# a test failed if it failed anywhere, passed if it passed somewhere, else was skipped.
state, message = {}, {}
files = [f for a in sys.argv[3:] for f in glob.glob(a)]
if not files:
    print("no results: the suite wrote no JUnit report (see its log)")
    sys.exit(1)
rank = {"skipped": 0, "passed": 1, "failed": 2}
for f in files:
    for tc in ET.parse(f).getroot().iter("testcase"):
        name = tc.get("name", "")
        if tc.find("failure") is not None or tc.find("error") is not None: s = "failed"
        elif tc.find("skipped") is not None: s = "skipped"
        else: s = "passed"
        if re.match(r"\[(Synchronized)?(Before|After)Suite\]", name) and s != "failed": continue
        if rank[s] >= rank.get(state.get(name), -1):
            state[name] = s
            if s == "skipped": message[name] = (tc.find("skipped").get("message") or "").strip().splitlines()
passed = sorted(n for n, s in state.items() if s == "passed")
failed = sorted(n for n, s in state.items() if s == "failed")
skipped = []
for n in sorted(n for n, s in state.items() if s == "skipped" and focus.search(n)):
    reason = next((r for p, r in skips if re.search(p, n)), None)
    if reason is None:
        msg = message.get(n) or []
        reason = "skipped by the suite: " + (msg[0] if msg else "no reason given")
    skipped.append((n, reason))
print(f"passed {len(passed)}, failed {len(failed)}, skipped {len(skipped)}")
for n in sorted(passed): print("  PASSED  " + n)
for n in sorted(failed): print("  FAILED  " + n)
for n, r in sorted(skipped): print("  SKIPPED " + n + "  -- " + r)
sys.exit(1 if failed or not passed else 0)
PY
}

OURS=0 KEEP=0 NS_OURS=0 CHILD=
# cleanup: the suite if it still runs, the test process's namespace, and the cluster if this run brought it up (unless --keep).
cleanup() {
  if [ -n "$CHILD" ]; then kill "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  e2e_ns_down
  if [ "$OURS" = 1 ] && [ "$KEEP" = 0 ]; then "$here/bin/wiremesh-local" down >&2 || true; fi
}

run() {
  local mode=all nodes=3 focus="" parallel=3
  while [ $# -gt 0 ]; do
    case "$1" in
      --all) mode=all; shift ;;
      --ci) mode=ci; shift ;;
      --nodes) nodes="$2"; shift 2 ;;
      --focus) focus="$2"; shift 2 ;;
      --parallel) parallel="$2"; shift 2 ;;
      --keep) KEEP=1; shift ;;
      *) die "unknown argument $1" ;;
    esac
  done
  [ -x "$OUT/e2e.test" ] && [ -x "$OUT/ginkgo" ] && [ -f "$OUT/images/agnhost.tar" ] || die "the suite is not built: run scripts/k8s-e2e.sh build"
  [ -n "$focus" ] || { [ "$mode" = ci ] && focus="$FOCUS_CI" || focus="$FOCUS_ALL"; }
  if ! cluster_up; then
    log "no local cluster is running: bringing one up with $nodes nodes"
    OURS=1
    "$here/bin/wiremesh-local" up --nodes "$nodes" --pods 1 >&2
  fi
  trap cleanup EXIT
  trap 'exit 143' TERM INT
  # The API server reaches pods (its proxy, which the DNS tests read their results through) as a mesh peer.
  "$here/bin/wiremesh-local" control-plane-peer >&2
  local have; have=$(wml_nodes | wc -l)
  log "importing the test images into $have nodes"
  import_images
  e2e_ns_up
  rm -rf "$REPORT/junit" "$REPORT/summary.txt"; mkdir -p "$REPORT/junit/parallel" "$REPORT/junit/serial"
  # The suite reaches the API server on the underlay, as a machine beside the nodes would.
  sed "s|https://127.0.0.1:$WML_LOCAL_API_PORT|$WML_API|" "$WML_DIR/admin.kubeconfig" >"$REPORT/kubeconfig"
  { grep -v 'google\.com' /etc/hosts || true; echo "127.0.0.1 google.com www.google.com"; } >"$REPORT/hosts"
  # The selected tests by name: those marked [Serial] run alone after the others, which run $parallel at a time.
  local names serial others
  names=$(selection "$focus")
  serial=$(printf '%s\n' "$names" | { grep -F '[Serial]' || true; } | names_regex)
  others=$(printf '%s\n' "$names" | { grep -vF '[Serial]' || true; } | names_regex)
  local args=(--provider=skeleton --kubeconfig="$REPORT/kubeconfig" --kubectl-path="$WML_BIN/kubectl" --num-nodes="$have"
    --dns-domain="$WML_CLUSTER_DOMAIN" --ginkgo.noColor --ginkgo.flakeAttempts=1)
  local in_ns=(nsenter --net="/run/netns/$E2E_NS" unshare -m --propagation private sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$REPORT/hosts")
  local rc=0
  log "running $(printf '%s\n' "$names" | grep -c . || true) tests of the e2e suite ($mode) on $have nodes, $parallel at a time; log: $REPORT/e2e.log"
  : >"$REPORT/e2e.log"
  if [ -n "$others" ]; then
    suite "${in_ns[@]}" "$OUT/ginkgo" --nodes="$parallel" --noColor --focus="$others" "$OUT/e2e.test" -- "${args[@]}" \
      --report-dir="$REPORT/junit/parallel" || rc=$?
  fi
  if [ -n "$serial" ]; then
    log "running the [Serial] ones alone"
    suite "${in_ns[@]}" "$OUT/e2e.test" "${args[@]}" --ginkgo.focus="$serial" --report-dir="$REPORT/junit/serial" || rc=$?
  fi
  summarize "$focus" "$REPORT"/junit/*/junit_*.xml | tee "$REPORT/summary.txt" || rc=1
  log "suite exit code $rc; summary: $REPORT/summary.txt"
  return "$rc"
}

# suite CMD...: CMD in the background with its output in the suite's log, waited for, so that a signal to this
# script reaches the trap at once (and the trap stops CMD) instead of after the suite.
suite() {
  "$@" >>"$REPORT/e2e.log" 2>&1 &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=
  return "$rc"
}

# selection FOCUS: the names of the tests FOCUS selects and SKIPS leaves in (a dry run of the suite; no cluster needed).
selection() {
  local tmp; tmp=$(mktemp -d)
  "$OUT/e2e.test" --provider=skeleton --kubeconfig=/dev/null --report-dir="$tmp" --ginkgo.dryRun --ginkgo.noColor \
    --ginkgo.focus="$1" --ginkgo.skip="$(skip_regex)" >/dev/null 2>&1 || true
  python3 - "$tmp" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
for f in glob.glob(sys.argv[1] + "/junit_*.xml"):
    for tc in ET.parse(f).getroot().iter("testcase"):
        if tc.find("skipped") is None and not tc.get("name", "").startswith("["+"SynchronizedBeforeSuite"):
            print(tc.get("name"))
PY
  rm -rf "$tmp"
}

# names_regex: one regular expression (Go's syntax) matching exactly the names on stdin, or nothing when there are none.
names_regex() {
  python3 -c '
import sys
names = [l.rstrip("\n") for l in sys.stdin if l.strip()]
esc = lambda n: "".join("\\" + c if c in "\\.+*?()|[]{}^$" else c for c in n)
print("|".join(esc(n) + "$" for n in names))'
}

# list: dry run of the selection (needs no cluster): what runs and what is skipped by name, with the reason.
list() {
  local mode=all
  [ "${1:-}" = --ci ] && mode=ci
  [ -x "$OUT/e2e.test" ] || die "the suite is not built: run scripts/k8s-e2e.sh build"
  local focus; [ "$mode" = ci ] && focus="$FOCUS_CI" || focus="$FOCUS_ALL"
  local tmp; tmp=$(mktemp -d)
  "$OUT/e2e.test" --provider=skeleton --kubeconfig=/dev/null --report-dir="$tmp" --ginkgo.dryRun --ginkgo.noColor \
    --ginkgo.focus="$focus" --ginkgo.skip="$(skip_regex)" >/dev/null 2>&1 || true
  summarize "$focus" "$tmp"/junit_*.xml | sed 's/^  PASSED  /  RUNS    /; s/^passed/selected/' || true
  rm -rf "$tmp"
}

cmd="${1:-}"; [ $# -gt 0 ] && shift
case "$cmd" in
  build) build ;;
  run) [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"; run "$@" ;;
  list) list "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
