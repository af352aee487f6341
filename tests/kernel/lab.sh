#!/usr/bin/env bash
# The kernel lab: boots Debian's own L2TP-capable kernel under qemu (software emulation) and runs
# one test script inside it, then judges the run by the result line /init prints on the console.
# Downloads (apt-get download) and unpacked packages are cached in $PWIRE_KERNEL_LAB_CACHE
# (default ~/.cache/pwire/kernel-lab) and re-used across runs and clones.
#
#   tests/kernel/lab.sh [--share DIR]... [--bin FILE]... [--timeout SEC] [--mem MB] [--net] \
#                       SCRIPT [ARG...]
#
#   --share DIR   mounted at the same absolute path inside the VM (9p, read-only); SCRIPT and
#                 test binaries are run from there, so nothing big is copied into the image.
#   --bin FILE    a binary the script runs: every library ldd prints for it (the loader too)
#                 is copied into the image. The binary itself is copied only if no --share
#                 holds it.
#   --net         a virtio NIC on qemu's user-mode network: the VM's eth0 (left down) reaches
#                 the host's 127.0.0.1 at 10.0.2.2 (the script configures eth0 itself).
#   SCRIPT        a bash script run as root inside the VM with ARGs; its exit status is the
#                 result. It must be inside a --share (or it is copied).
# Inside the VM: bash, busybox applets, the host's iproute2 (ip, bridge, genl), the L2TP, veth,
# bridge, 8021q, macvlan and virtio_net modules loaded, /run /tmp as tmpfs.
# Env PWIRE_KERNEL_LAB_KEEP=1 keeps the work directory;
# PWIRE_KERNEL_LAB_KERNEL=linux-image-6.1.0-NN-amd64 pins the kernel package.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PWIRE_KERNEL_LAB_CACHE:-$HOME/.cache/pwire/kernel-lab}
RESULT_TAG="PWIRE-KERNEL-LAB-RESULT"
MODULES=(l2tp_core l2tp_netlink l2tp_eth l2tp_ip l2tp_ip6 l2tp_ppp pppox ppp_generic veth bridge
  8021q tun 9p 9pnet_virtio virtio_pci virtio_net macvlan)
HOST_BINS=(/bin/bash /usr/sbin/ip /usr/sbin/bridge /usr/sbin/genl /usr/bin/ping)

shares=()
bins=()
timeout_s=420
mem_mb=1024
net=0
while [ $# -gt 0 ]; do
  case "$1" in
    --share) shares+=("$(cd "$2" && pwd)"); shift 2 ;;
    --bin) bins+=("$(readlink -f "$2")"); shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --mem) mem_mb=$2; shift 2 ;;
    --net) net=1; shift ;;
    --) shift; break ;;
    -*) echo "lab.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '7,22p' "$0" >&2; exit 2; }
script=$(readlink -f "$1")
shift

log() { printf 'lab.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

for tool in qemu-system-x86_64 cpio depmod modprobe apt-get dpkg-deb gzip ldd flock; do
  command -v "$tool" >/dev/null || die "missing $tool: run deploy/install-deps.sh"
done

mkdir -p "$CACHE/debs" "$CACHE/unpacked" "$CACHE/images"
exec 9>"$CACHE/.lock"

# --- 1. Packages: kernel and busybox, downloaded once. -------------------------------------
kernel_pkg() {
  if [ -n "${PWIRE_KERNEL_LAB_KERNEL:-}" ]; then echo "$PWIRE_KERNEL_LAB_KERNEL"; return; fi
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
  if [ -z "$pkg" ]; then  # offline: fall back to the newest kernel already cached
    pkg=$(ls "$CACHE/unpacked" 2>/dev/null | grep '^linux-image-' | sort -V | tail -n1)
  fi
  [ -n "$pkg" ] || die "cannot name the kernel package (apt-cache depends linux-image-amd64)"
  echo "$pkg"
}

fetch_unpack() {  # PKG -> unpacked dir under $CACHE/unpacked/PKG
  local pkg=$1 dir="$CACHE/unpacked/$1"
  [ -f "$dir/.done" ] && return 0
  local deb
  deb=$(ls "$CACHE/debs/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    log "downloading $pkg"
    (cd "$CACHE/debs" && apt-get download -q "$pkg" >&2) || die "apt-get download $pkg failed"
    deb=$(ls "$CACHE/debs/${pkg}"_*.deb | head -n1)
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  dpkg-deb -x "$deb" "$dir"
  if [ -d "$dir/lib/modules" ]; then  # Debian generates modules.dep at install: do it here
    local kv
    for kv in $(ls "$dir/lib/modules"); do depmod -b "$dir" "$kv"; done
  fi
  touch "$dir/.done"
}

copy_with_libs() {  # ROOT FILE...: copies each file and every library ldd prints, loader too
  local root=$1 f lib
  shift
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    cp -L "$f" "$root$f"
    # Lines look like "libx.so => /path (0x..)", "/lib64/ld-linux-x86-64.so.2 (0x..)" or
    # "linux-vdso.so.1 (0x..)": take every absolute path.
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
      [ -e "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
}

# --- 2. The base image: busybox, host tools, kernel modules, /init. Cached by content. -----
build_base() {  # KPKG KVER OUT
  local kpkg=$1 kver=$2 out=$3 root m line
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,var,root,pwire,lib/modules}
  ln -s /run "$root/var/run"
  cp "$CACHE/unpacked/busybox-static/bin/busybox" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  ln -sf /bin/busybox "$root/sbin/modprobe"  # the kernel's module autoload helper
  # Real tools replace busybox's (busybox ip has no l2tp): drop the applet links first.
  for m in "${HOST_BINS[@]}"; do
    [ -e "$m" ] || continue
    rm -f "$root/bin/$(basename "$m")"
    copy_with_libs "$root" "$m"
  done
  [ -e "$root/bin/sh" ] || ln -s busybox "$root/bin/sh"
  local kroot="$CACHE/unpacked/$kpkg"
  for m in "${MODULES[@]}"; do
    modprobe -d "$kroot" -S "$kver" --show-depends "$m" | while read -r line; do
      case "$line" in
        insmod\ *)
          set -- $line
          mkdir -p "$root$(dirname "${2#"$kroot"}")"
          cp "$2" "$root${2#"$kroot"}" ;;
      esac
    done
  done
  cp "$kroot/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
    "$root/lib/modules/$kver/" 2>/dev/null || true
  depmod -b "$root" "$kver"
  printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
  cp "$HERE/init.sh" "$root/init"
  chmod +x "$root/init"
  printf '%s\n' "${MODULES[@]}" >"$root/pwire/modules"
  (cd "$root" && find . -mindepth 1 | cpio -o -H newc --quiet) | gzip -1 >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$root"
}

flock 9
kpkg=$(kernel_pkg)
kver=${kpkg#linux-image-}
fetch_unpack "$kpkg"
fetch_unpack busybox-static
vmlinuz="$CACHE/unpacked/$kpkg/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "no $vmlinuz in $kpkg"
key=$( (cat "$0" "$HERE/init.sh"; echo "$kpkg"; for b in "${HOST_BINS[@]}"; do
  [ -e "$b" ] && md5sum "$b"; done) | md5sum | cut -c1-12)
base="$CACHE/images/base-$kver-$key.cpio.gz"
if [ ! -f "$base" ]; then
  log "building the base image $base"
  build_base "$kpkg" "$kver" "$base"
fi
flock -u 9

# --- 3. The per-run image: the script, its arguments, shares and binaries' libraries. -----
work=$(mktemp -d "${TMPDIR:-/tmp}/pwire-kernel-lab.XXXXXX")
qemu_pid=""
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
  if [ "${PWIRE_KERNEL_LAB_KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
overlay="$work/root"
mkdir -p "$overlay/pwire"
in_share() {
  local s
  for s in "${shares[@]}"; do case "$1" in "$s"/*) return 0 ;; esac; done
  return 1
}
for b in "${bins[@]}"; do
  copy_with_libs "$overlay" "$b"
  if in_share "$b"; then rm -f "$overlay$b"; fi
done
if ! in_share "$script"; then
  mkdir -p "$overlay$(dirname "$script")"
  cp "$script" "$overlay$script"
fi
{
  echo "# generated by lab.sh"
  i=0
  for s in "${shares[@]}"; do
    echo "mkdir -p '$s' && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro share$i '$s'"
    i=$((i + 1))
  done
  printf 'PWIRE_TEST=(%q' "$script"
  for a in "$@"; do printf ' %q' "$a"; done
  printf ')\n'
} >"$overlay/pwire/run.conf"
(cd "$overlay" && find . -mindepth 1 | cpio -o -H newc --quiet) | gzip -1 >"$work/overlay.cpio.gz"
cat "$base" "$work/overlay.cpio.gz" >"$work/initrd.cpio.gz"

# --- 4. Boot and judge. --------------------------------------------------------------------
qemu_args=(-accel tcg -m "$mem_mb" -smp 1 -nographic -no-reboot -nodefaults -serial stdio
  -kernel "$vmlinuz" -initrd "$work/initrd.cpio.gz"
  -append "console=ttyS0 panic=-1 quiet loglevel=3")
i=0
for s in "${shares[@]}"; do
  qemu_args+=(-virtfs "local,path=$s,mount_tag=share$i,security_model=none,readonly=on,id=share$i")
  i=$((i + 1))
done
if [ "$net" = 1 ]; then  # romfile= : no PXE ROM (Debian's qemu-system-x86 ships none)
  qemu_args+=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile=)
fi
log "booting $kver: $(basename "$script") $* (timeout ${timeout_s}s)"
start=$(date +%s)
set +e
timeout "$timeout_s" qemu-system-x86_64 "${qemu_args[@]}" </dev/null | tee "$work/console.log"
qemu_rc=${PIPESTATUS[0]}
set -e
took=$(($(date +%s) - start))
result=$(tr -d '\r' <"$work/console.log" | grep -a "^$RESULT_TAG" | tail -n1 || true)
if [ "$result" = "$RESULT_TAG PASS" ]; then
  log "PASS in ${took}s"
  exit 0
fi
if [ -z "$result" ]; then
  log "FAIL: no result line (qemu exit $qemu_rc after ${took}s; 124 means timeout)"
else
  log "FAIL: $result (${took}s)"
fi
exit 1
