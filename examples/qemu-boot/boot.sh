#!/usr/bin/env bash
# Boots a virtual machine from the PXElator reference server, on this
# terminal: a network namespace with a bridge and a tap, the server in it
# (started without flags, as a newcomer would), and QEMU on the tap.
#
#   sudo examples/qemu-boot/boot.sh [bios|uefi|uefi-http] [PROFILE]
#
# FIRMWARE  bios       SeaBIOS with QEMU's iPXE ROM (default)
#           uefi       OVMF with its own PXE, chained to iPXE (ipxe.efi)
#           uefi-http  OVMF's UEFI HTTP boot (PXE turned off)
# PROFILE   rescue     Debian's installer in rescue mode, over HTTP (default)
#           none       no profile: the default profile's menu of profiles
#           any other profile of profiles/ (linux, kiosk, local, once, ...)
#
# It needs root (namespaces, the tap, ports 67, 69 and 80 inside the
# namespace), Go, and: apt-get install qemu-system-x86 ipxe-qemu ipxe
# pxelinux syslinux-common ovmf. The rescue system comes from Debian's
# debian-installer-<N>-netboot-amd64 package (apt-get download, about
# 130 MB, kept in the work directory). Leave QEMU with Ctrl-A X.
# Everything the server writes (conf/, state/, tftpboot/, profiles/,
# server.log) stays in $WORK (default /tmp/pxelator-qemu-boot). ACCEL=kvm
# runs QEMU with KVM where it works (the default, tcg, works everywhere).
set -euo pipefail

firmware=${1:-bios}
profile=${2:-rescue}
work=${WORK:-/tmp/pxelator-qemu-boot}
repo=$(cd "$(dirname "$0")/../.." && pwd)
ns=pxelator-demo
server=10.78.0.1
mac=52:54:00:78:00:99
ip=10.78.0.199

die() { echo "boot.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (network namespaces, a tap, ports below 1024)"
case $firmware in bios|uefi|uefi-http) ;; *) die "firmware $firmware: want bios, uefi or uefi-http" ;; esac
for tool in ip go qemu-system-x86_64 apt-get dpkg-deb; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install iproute2 golang qemu-system-x86 apt dpkg)"
done
for f in /usr/lib/ipxe/qemu/pxe-e1000.rom /usr/lib/ipxe/ipxe.efi /usr/lib/PXELINUX/pxelinux.0 \
	/usr/lib/syslinux/modules/bios/ldlinux.c32 /usr/share/OVMF/OVMF_CODE_4M.fd; do
	[ -e "$f" ] || die "$f missing: apt-get install qemu-system-x86 ipxe-qemu ipxe pxelinux syslinux-common ovmf"
done
mkdir -p "$work/cache" "$work/tftpboot"
cd "$work"

# Debian's installer, for the rescue profile: debian-installer/amd64/linux
# and initrd.gz under the boot root, as in Debian's netboot.tar.gz.
di=$work/tftpboot/debian-installer/amd64
if [ ! -e "$di/linux" ]; then
	pkg=$(apt-cache search --names-only '^debian-installer-[0-9]+-netboot-amd64$' | cut -d' ' -f1 | sort -V | tail -1)
	[ -n "$pkg" ] || die "apt-cache knows no debian-installer-*-netboot-amd64 (apt-get update first)"
	echo "boot.sh: downloading $pkg for the rescue system"
	(cd cache && apt-get download -q "$pkg")
	rm -rf cache/di && dpkg-deb -x cache/"$pkg"_*.deb cache/di
	images=$(echo cache/di/usr/lib/debian-installer/images/*/amd64/text/debian-installer/amd64)
	mkdir -p "$di" && cp "$images/linux" "$images/initrd.gz" "$di/"
fi

echo "boot.sh: building the reference server"
go -C "$repo" build -o "$work/pxelator" ./cmd/pxelator

# The machine, as a person writes it: one file per value.
m=$work/conf/$server/$ip
mkdir -p "$m"
echo "$mac" >"$m/mac"
echo demo-01 >"$m/hostname"
echo "console=ttyS0" >"$m/cmdline" # the installer and kernels on this terminal
if [ "$profile" = none ]; then rm -f "$m/profile"; else echo "$profile" >"$m/profile"; fi

cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exit runs the EXIT trap
ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add "$server/24" dev br0
ip -n "$ns" link set br0 up
ip -n "$ns" tuntap add dev tap0 mode tap
ip -n "$ns" link set tap0 master br0
ip -n "$ns" link set tap0 up

ip netns exec "$ns" "$work/pxelator" >server.log 2>&1 &
srv=$!
for _ in $(seq 100); do grep -q "pxelator: listening" server.log && break; sleep 0.1; done
grep "^pxelator" server.log || { cat server.log; die "the server did not start"; }
echo "boot.sh: the machine $mac ($ip, profile $profile) boots; the server logs to $work/server.log; Ctrl-A X leaves QEMU"
sleep 2

args=(-accel "${ACCEL:-tcg}" -nographic -no-reboot -boot n -netdev tap,id=n0,ifname=tap0,script=no,downscript=no)
case $firmware in
bios) args+=(-m 1024 -device "e1000,netdev=n0,mac=$mac") ;;
uefi | uefi-http)
	[ -e OVMF_VARS_4M.fd ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd .
	args+=(-machine q35 -m 1024
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
		-drive if=pflash,format=raw,file=OVMF_VARS_4M.fd
		-device "virtio-net-pci,netdev=n0,romfile=,mac=$mac")
	if [ "$firmware" = uefi-http ]; then
		args+=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n
			-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n)
	fi
	;;
esac
ip netns exec "$ns" qemu-system-x86_64 "${args[@]}" || true
