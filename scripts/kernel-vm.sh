#!/usr/bin/env bash
# Runs a shell script inside a throwaway qemu VM on Debian's stock kernel, which has the wireguard
# module. The host's /usr is the guest's /usr (read-only, 9p), so the host's ip,
# wg and Java run unchanged in the guest.
#
#   kernel-vm.sh prepare
#   kernel-vm.sh run --share DIR --script NAME [--netns NS --tap TAP [--mac MAC]] [--mem MB=256] [--timeout S=180]
#
# prepare downloads (never installs) the kernel, busybox-static, kmod and libkmod2 and caches vmlinux +
# initramfs under /var/cache/wiremesh/kernel-vm/<kernel version>/; rebuilt only when the version or MODULES change.
# run boots one VM: DIR is /share (read-write), `sh /share/NAME` runs there as root with cwd /share, and
# the guest powers off. Console: DIR/console.log. Exit status: the script's (DIR/exit-code), 124 on
# timeout, 125 when the VM died without an exit code. With --netns/--tap, qemu runs inside NS on TAP
# (created in NS when missing, and then deleted again) and the guest sees eth0, unconfigured.
# The guest is laid out like the host (bin -> usr/bin, sbin -> usr/sbin), so the script runs under the host's
# /bin/sh and finds the host's tools by name; busybox (in /busybox, last on PATH) only runs /init.
set -euo pipefail

CACHE=/var/cache/wiremesh/kernel-vm
# What a node-daemon needs besides WireGuard: veth for pods, its nftables tables (NAT, fib reverse-path check; the
# NetworkPolicy table's named counters) and conntrack -D; the kernel loads them on demand (request_module) from the
# initramfs.
MODULES=(wireguard virtio_net virtio_pci 9p 9pnet_virtio tun veth
         nf_tables nft_chain_nat nft_masq nft_fib_inet nft_ct nft_objref nf_conntrack_netlink)
# A cached VM is rebuilt when this changes: the module list plus the version of the initramfs layout.
LAYOUT="2 ${MODULES[*]}"
tmp=""
log() { echo "kernel-vm: $*"; }
die() { echo "kernel-vm: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- prepare

ensure_qemu() {
  if dpkg-query -W -f='${Status}' qemu-system-x86 2>/dev/null | grep -q "install ok installed"; then
    log "qemu-system-x86 installed"
    return
  fi
  log "installing qemu-system-x86"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null 2>&1 || {
    apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
  }
}

# linux-image-amd64's dependency, e.g. linux-image-6.1.0-57-amd64 (the ABI number moves with updates).
# apt's binary cache is off on this image (0.6 s a call): keep one here (apt rebuilds it when stale).
kernel_package() {
  mkdir -p "$CACHE"
  apt-cache -o Dir::Cache::pkgcache="$CACHE/apt-pkgcache.bin" depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

# The generated guest /init (busybox sh).
write_init() {
  cat >"$1" <<'EOF'
#!/busybox/sh
export PATH=/busybox HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
echo /busybox/modprobe >/proc/sys/kernel/modprobe
if grep -q 'wm\.probe=1' /proc/cmdline; then echo WM-PROBE-OK; poweroff -f; fi
for m in virtio_pci virtio_net 9pnet_virtio 9p tun wireguard; do
  modprobe "$m" || echo "init: modprobe $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose usr /usr || echo "init: /usr not mounted"
ip link set lo up
script=$(sed -n 's/.* wm\.script=\([^ ]*\).*/\1/p' /proc/cmdline)
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 share /share; then
  cd /share
  echo "init: running /share/$script"
  sh=/bin/sh; [ -x $sh ] || sh=/busybox/sh
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox $sh "/share/$script"
  rc=$?
  echo "init: exit code $rc"
  echo "$rc" >/share/exit-code
  cd /
  sync
  umount /share
else
  echo "init: /share not mounted"
fi
sync
poweroff -f
EOF
  chmod 755 "$1"
}

prepare() {
  ensure_qemu
  local pkg kver dir
  pkg="$(kernel_package)"
  if [ -z "$pkg" ]; then
    log "apt-get update (linux-image-amd64 not resolvable)"
    apt-get update -qq
    pkg="$(kernel_package)"
  fi
  [ -n "$pkg" ] || die "cannot resolve linux-image-amd64's kernel package"
  kver="${pkg#linux-image-}"
  dir="$CACHE/$kver"
  log "kernel package $pkg"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  if [ -s "$dir/vmlinux" ] && [ -s "$dir/initramfs.gz" ] && [ "$(cat "$dir/layout" 2>/dev/null)" = "$LAYOUT" ]; then
    ln -sfn "$kver" "$CACHE/current"
    log "cached: $dir (current -> $kver)"
    return
  fi
  rm -rf "$CACHE"/.build-*                               # left by an interrupted prepare (we hold the lock)
  tmp="$CACHE/.build-$kver.$$"
  mkdir -p "$tmp/debs" "$tmp/root" "$tmp/initramfs"
  trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
  log "apt-get download $pkg busybox-static kmod libkmod2"
  # Downloads as root land in the build dir; apt's _apt sandbox user only needs to write there.
  chown _apt "$tmp/debs" 2>/dev/null || true
  if ! (cd "$tmp/debs" && apt-get download -qq "$pkg" busybox-static kmod libkmod2 >/dev/null 2>&1); then
    log "apt-get update (download failed), retrying"
    apt-get update -qq
    [ "$(kernel_package)" = "$pkg" ] || die "linux-image-amd64 now depends on $(kernel_package): run prepare again"
    (cd "$tmp/debs" && apt-get download -qq "$pkg" busybox-static kmod libkmod2 >/dev/null)
  fi
  log "dpkg-deb -x $(cd "$tmp/debs" && echo *.deb)"
  for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$tmp/root"; done
  local r="$tmp/root" mods base
  mods="$(cd "$r" && find . -maxdepth 4 -type d -path "*/modules/$kver" | head -n1)"
  [ -n "$mods" ] || die "no modules/$kver in $pkg"
  mods="${mods#./}"                                      # lib/modules/KVER (or usr/lib/...)
  base="$r/${mods%lib/modules/*}"
  # kmod dispatches on argv[0]: give it the names depmod and modprobe.
  mkdir -p "$tmp/tools"
  local kmod
  kmod="$(cd "$r" && find . -path '*bin/kmod' -type f | head -n1)"
  [ -n "$kmod" ] || die "no kmod binary in the kmod package"
  ln -s "$r/${kmod#./}" "$tmp/tools/depmod"
  ln -s "$r/${kmod#./}" "$tmp/tools/modprobe"
  local ldp="$r/lib/x86_64-linux-gnu:$r/usr/lib/x86_64-linux-gnu"
  log "depmod $kver"
  LD_LIBRARY_PATH="$ldp" "$tmp/tools/depmod" -b "$base" "$kver"

  local vmlinuz
  vmlinuz="$r/boot/vmlinuz-$kver"
  [ -f "$vmlinuz" ] || die "no boot/vmlinuz-$kver in $pkg"
  log "vmlinux from vmlinuz-$kver (xz stream, python3 lzma)"
  /usr/bin/python3 - "$vmlinuz" "$tmp/vmlinux" <<'EOF'
import lzma, sys
data = open(sys.argv[1], 'rb').read()
pos = data.find(b'\xfd7zXZ\x00')
while pos >= 0:
    try:
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[pos:])
        if out[:4] == b'\x7fELF':
            open(sys.argv[2], 'wb').write(out)
            sys.exit(0)
    except lzma.LZMAError:
        pass
    pos = data.find(b'\xfd7zXZ\x00', pos + 1)
sys.exit('no xz-compressed ELF kernel in ' + sys.argv[1])
EOF

  # initramfs: static busybox in /busybox (+ an applet link each), the modules' closure, /init. The
  # host's absolute links (/usr/sbin/ip -> /bin/ip, ld.so -> /lib/x86_64-linux-gnu/...) resolve as on the host.
  local i="$tmp/initramfs" bb
  bb="$(cd "$r" && find . -path '*bin/busybox' -type f | head -n1)"
  [ -n "$bb" ] || die "no busybox in busybox-static"
  mkdir -p "$i"/{busybox,dev,etc,proc,sys,tmp,run,usr,share,root,lib/modules}
  ln -s usr/bin "$i/bin"
  ln -s usr/sbin "$i/sbin"
  mkdir -p "$i/var" && ln -s /run "$i/var/run"          # as on Debian: ip netns and /var/run/wireguard live in /run
  ln -s usr/lib64 "$i/lib64"
  ln -s /usr/lib/x86_64-linux-gnu "$i/lib/x86_64-linux-gnu"
  cp "$r/${bb#./}" "$i/busybox/busybox"
  local a
  for a in $("$i/busybox/busybox" --list); do
    [ "$a" = busybox ] || ln -s busybox "$i/busybox/$a"
  done
  local n=0 line f rel
  while read -r line; do
    case "$line" in
      insmod\ *)
        f="${line#insmod }"; f="${f%% *}"
        rel="${f#"$r"/}"; rel="lib/modules/$kver/${rel#*/modules/"$kver"/}"
        if [ ! -e "$i/$rel" ]; then mkdir -p "$(dirname "$i/$rel")"; cp "$f" "$i/$rel"; n=$((n + 1)); fi ;;
    esac
  done < <(LD_LIBRARY_PATH="$ldp" "$tmp/tools/modprobe" -C /dev/null -d "$base" -S "$kver" \
             --show-depends -a "${MODULES[@]}")
  [ "$n" -gt 0 ] || die "module closure is empty"
  cp "$r/$mods"/modules.builtin* "$r/$mods"/modules.order "$i/lib/modules/$kver/" 2>/dev/null || true
  LD_LIBRARY_PATH="$ldp" "$tmp/tools/depmod" -b "$i" "$kver"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$i/etc/passwd"
  printf 'root:x:0:\n' >"$i/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$i/etc/hosts"
  write_init "$i/init"
  (cd "$i" && find . | "$r/${bb#./}" cpio -o -H newc -R 0:0 2>/dev/null | gzip -1 >"$tmp/initramfs.gz")
  log "initramfs.gz: busybox + $n modules, $(($(stat -c %s "$tmp/initramfs.gz") / 1024)) KiB"

  mkdir -p "$dir"
  mv "$tmp/debs" "$dir/debs.new" && rm -rf "$dir/debs" && mv "$dir/debs.new" "$dir/debs"
  mv "$tmp/vmlinux" "$dir/vmlinux.new" && mv "$dir/vmlinux.new" "$dir/vmlinux"
  mv "$tmp/initramfs.gz" "$dir/initramfs.gz.new" && mv "$dir/initramfs.gz.new" "$dir/initramfs.gz"
  echo "$LAYOUT" >"$dir/layout"
  rm -rf "$tmp"
  trap - EXIT
  ln -sfn "$kver" "$CACHE/current"
  log "ready: $dir (current -> $kver)"
}

# -------------------------------------------------------------------------------------------------- run

# QEMU_PID is qemu itself (ip netns exec and setpriv exec it), our child: the only process ever killed.
QEMU_PID="" RUNDIR="" TAP_CREATED=""

cleanup() {
  set +e
  if [ -n "$QEMU_PID" ]; then kill -KILL "$QEMU_PID" 2>/dev/null; wait "$QEMU_PID" 2>/dev/null; fi
  [ -z "$TAP_CREATED" ] || ip -n "$NETNS" link del "$TAP" 2>/dev/null
  [ -z "$RUNDIR" ] || rm -rf "$RUNDIR"
  return 0
}

now_us() { echo "${EPOCHREALTIME/./}"; }
elapsed() { local us=$(($(now_us) - $1)); printf '%d.%d s' $((us / 1000000)) $((us / 100000 % 10)); }

# Waits for $QEMU_PID up to $1 seconds; 0 when it exited (and is reaped), 1 on timeout.
wait_qemu() {
  local deadline=$(($(now_us) + $1 * 1000000))
  while kill -0 "$QEMU_PID" 2>/dev/null; do
    [ "$(now_us)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
  wait "$QEMU_PID" 2>/dev/null || true
  QEMU_PID=""
}

kill_qemu() {
  kill -TERM "$QEMU_PID" 2>/dev/null || true
  wait_qemu 3 || { kill -KILL "$QEMU_PID" 2>/dev/null || true; wait "$QEMU_PID" 2>/dev/null || true; QEMU_PID=""; }
}

# KVM only with real VMX/SVM and a probe boot that reaches /init (a nested PVM /dev/kvm cannot boot it).
choose_accel() {
  local why
  if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then why="no VMX/SVM in /proc/cpuinfo"
  elif [ ! -w /dev/kvm ]; then why="/dev/kvm not usable"
  else
    local plog="$RUNDIR/probe.log"
    setpriv --pdeathsig KILL qemu-system-x86_64 -enable-kvm -cpu host -M pc -smp 1 -m 128 -nodefaults -no-reboot -nographic \
      -monitor none -serial "file:$plog" -kernel "$VMDIR/vmlinux" -initrd "$VMDIR/initramfs.gz" \
      -append "console=ttyS0 panic=-1 quiet wm.probe=1" </dev/null >/dev/null 2>&1 &
    QEMU_PID=$!
    if wait_qemu 10 && grep -q WM-PROBE-OK "$plog" 2>/dev/null; then
      ACCEL=(-enable-kvm -cpu host)
      log "accel: kvm"
      return
    fi
    [ -z "$QEMU_PID" ] || kill_qemu
    why="KVM probe boot failed"
  fi
  ACCEL=(-accel tcg,thread=multi -cpu max)
  log "accel: tcg ($why)"
}

run() {
  local share="" script="" mac="" mem=256 timeout=180
  NETNS="" TAP=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --share) share="${2:?}"; shift 2 ;;
      --script) script="${2:?}"; shift 2 ;;
      --netns) NETNS="${2:?}"; shift 2 ;;
      --tap) TAP="${2:?}"; shift 2 ;;
      --mac) mac="${2:?}"; shift 2 ;;
      --mem) mem="${2:?}"; shift 2 ;;
      --timeout) timeout="${2:?}"; shift 2 ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  [ -n "$share" ] && [ -d "$share" ] || die "--share DIR: an existing directory is required"
  share="$(cd "$share" && pwd)"
  [ -n "$script" ] && [ -f "$share/$script" ] || die "--script NAME: $share/NAME must exist"
  case "$script" in *[[:space:]]*|/*|*..*) die "--script NAME: a relative path without spaces or '..'" ;; esac
  case "$share" in *,*) die "--share DIR must not contain ','" ;; esac
  [[ "$mem" =~ ^[0-9]+$ ]] || die "--mem MB: a number"
  [[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout S: a number"
  if [ -n "$NETNS$TAP$mac" ] && { [ -z "$NETNS" ] || [ -z "$TAP" ]; }; then
    die "--netns and --tap go together (--mac needs both)"
  fi
  VMDIR="$CACHE/current"
  [ -s "$VMDIR/vmlinux" ] && [ -s "$VMDIR/initramfs.gz" ] || die "not prepared: run '$0 prepare' first"
  command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64: run '$0 prepare' first"

  RUNDIR="$(mktemp -d /tmp/kernel-vm.XXXXXX)"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local net=(-nic none) prefix=()
  if [ -n "$NETNS" ]; then
    [ -e "/run/netns/$NETNS" ] || die "no network namespace $NETNS"
    if ! ip -n "$NETNS" link show "$TAP" >/dev/null 2>&1; then
      ip -n "$NETNS" tuntap add dev "$TAP" mode tap
      TAP_CREATED=1
    fi
    ip -n "$NETNS" link set "$TAP" up
    if [ -z "$mac" ]; then
      # Stable per namespace/tap: 52:54:00 (qemu's prefix) + 3 bytes of a checksum.
      local h; h="$(printf '%s/%s' "$NETNS" "$TAP" | cksum | cut -d' ' -f1)"
      mac="$(printf '52:54:00:%02x:%02x:%02x' $(((h >> 16) & 255)) $(((h >> 8) & 255)) $((h & 255)))"
    fi
    net=(-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=")
    prefix=(ip netns exec "$NETNS")
  fi

  choose_accel
  rm -f "$share/exit-code" "$share/console.log"
  local start; start="$(now_us)"
  # setpriv: qemu dies with this script even when it is SIGKILLed.
  "${prefix[@]}" setpriv --pdeathsig KILL qemu-system-x86_64 "${ACCEL[@]}" -M pc -smp 1 -m "$mem" -nodefaults -no-reboot -nographic \
    -monitor none -serial "file:$share/console.log" \
    -kernel "$VMDIR/vmlinux" -initrd "$VMDIR/initramfs.gz" \
    -append "console=ttyS0 panic=-1 quiet wm.script=$script" \
    -fsdev local,id=usr,path=/usr,readonly=on,security_model=none,multidevs=remap \
    -device virtio-9p-pci,fsdev=usr,mount_tag=usr,romfile= \
    -fsdev "local,id=share,path=$share,security_model=none,multidevs=remap" \
    -device virtio-9p-pci,fsdev=share,mount_tag=share,romfile= \
    "${net[@]}" </dev/null >"$RUNDIR/qemu.out" 2>&1 &
  QEMU_PID=$!
  if ! wait_qemu "$timeout"; then
    kill_qemu
    log "timeout after $(elapsed "$start"): VM killed (console: $share/console.log)"
    return 124
  fi
  local rc
  rc="$(cat "$share/exit-code" 2>/dev/null || true)"
  if ! [[ "$rc" =~ ^[0-9]+$ ]]; then
    log "VM ended without an exit code after $(elapsed "$start") (console: $share/console.log)"
    sed 's/^/kernel-vm: qemu: /' "$RUNDIR/qemu.out" >&2
    return 125
  fi
  log "exit code $rc after $(elapsed "$start")"
  return "$rc"
}

case "${1:-}" in
  prepare) shift; [ $# -eq 0 ] || die "prepare takes no arguments"; prepare ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 prepare | run --share DIR --script NAME [--netns NS --tap TAP [--mac MAC]] [--mem MB=256] [--timeout S=180]" >&2
     exit 2 ;;
esac
