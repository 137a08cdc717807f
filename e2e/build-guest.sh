#!/bin/sh
# build-guest.sh CACHE_DIR
#
# Builds the guest that the e2e test network-boots through provisiond:
#   CACHE_DIR/vmlinuz          Debian's cloud kernel (EFI stub, virtio-net as a module)
#   CACHE_DIR/initrd.cpio.gz   busybox-static + the virtio-net modules + e2e/init
#
# Idempotent: the kernel .deb is downloaded once (apt-get download) into
# CACHE_DIR and reused; the kernel and initrd are rebuilt only when an input
# changed, and always replaced atomically.
#
# Needs: apt-get, apt-cache, dpkg-deb, cpio, gzip, busybox-static
# (/bin/busybox must be statically linked); xz/zstd only if the kernel ships
# compressed modules.
#
# Environment:
#   PROVISIOND_E2E_KERNEL_PKG  kernel package to use instead of the one that
#                              linux-image-cloud-amd64 depends on, e.g.
#                              linux-image-6.1.0-56-cloud-amd64
set -eu

die() {
	echo "build-guest.sh: error: $*" >&2
	exit 1
}

need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "required tool '$1' not found (on Debian: apt-get install -y --no-install-recommends $2)"
}

[ $# -eq 1 ] || die "usage: $0 CACHE_DIR"

here=$(cd "$(dirname "$0")" && pwd)
init_src="$here/init"
[ -f "$init_src" ] || die "missing $init_src"

mkdir -p "$1"
cache=$(cd "$1" && pwd)

need dpkg-deb dpkg
need cpio cpio
need gzip gzip
need find findutils
need tr coreutils

busybox=""
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ]; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] || die "required tool 'busybox' not found (on Debian: apt-get install -y --no-install-recommends busybox-static)"
# A dynamically linked busybox would need its libc in the initrd.
if head -c 4096 "$busybox" | tr -d '\000' | grep -q 'ld-linux'; then
	die "$busybox is dynamically linked; install the static one (apt-get install -y --no-install-recommends busybox-static)"
fi

# --- 1. the kernel package -------------------------------------------------

pkg="${PROVISIOND_E2E_KERNEL_PKG:-}"
if [ -z "$pkg" ] && command -v apt-cache >/dev/null 2>&1; then
	# linux-image-cloud-amd64 is a metapackage; it depends on the versioned one.
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1) || true
fi

deb=""
if [ -n "$pkg" ]; then
	deb=$(ls "$cache/${pkg}"_*_amd64.deb 2>/dev/null | sort | tail -n 1) || true
	if [ -z "$deb" ]; then
		need apt-get apt
		echo "build-guest.sh: downloading $pkg" >&2
		# apt-get download writes into the current directory.
		if (cd "$cache" && apt-get download "$pkg") >&2; then
			deb=$(ls "$cache/${pkg}"_*_amd64.deb 2>/dev/null | sort | tail -n 1) || true
			# Drop kernels that Debian has since replaced.
			for old in "$cache"/linux-image-*-cloud-amd64_*_amd64.deb; do
				if [ -f "$old" ] && [ "$old" != "$deb" ]; then
					rm -f "$old"
				fi
			done
		else
			deb=$(ls "$cache"/linux-image-*-cloud-amd64_*_amd64.deb 2>/dev/null | sort | tail -n 1) || true
			[ -n "$deb" ] || die "apt-get download $pkg failed (run apt-get update first?)"
			echo "build-guest.sh: warning: apt-get download $pkg failed; using the cached $(basename "$deb")" >&2
		fi
	fi
else
	# No apt metadata: fall back to whatever cloud kernel is already cached.
	deb=$(ls "$cache"/linux-image-*-cloud-amd64_*_amd64.deb 2>/dev/null | sort | tail -n 1) || true
fi
[ -n "$deb" ] && [ -f "$deb" ] ||
	die "no cloud kernel package: 'apt-cache depends linux-image-cloud-amd64' found nothing (run apt-get update) and none is cached in $cache"

# --- 2. up to date? --------------------------------------------------------

stamp="$cache/.guest-inputs"
inputs=$(
	{
		echo "deb=$(basename "$deb") $(wc -c <"$deb")"
		echo "busybox=$busybox $(wc -c <"$busybox")"
		cksum <"$init_src"
		cksum <"$0"
	} | cksum
)
if [ -f "$cache/vmlinuz" ] && [ -f "$cache/initrd.cpio.gz" ] && [ -f "$stamp" ] &&
	[ "$(cat "$stamp")" = "$inputs" ]; then
	echo "$cache/vmlinuz"
	echo "$cache/initrd.cpio.gz"
	exit 0
fi

# --- 3. unpack the kernel --------------------------------------------------

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

dpkg-deb -x "$deb" "$work/kernel" || die "dpkg-deb -x $deb failed"
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1) || true
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $deb"
kver=${vmlinuz##*/vmlinuz-}
moddir=""
for d in "$work/kernel/lib/modules/$kver" "$work/kernel/usr/lib/modules/$kver"; do
	[ -d "$d" ] && moddir=$d && break
done
[ -n "$moddir" ] || die "no lib/modules/$kver in $deb"
echo "build-guest.sh: kernel $kver from $(basename "$deb")" >&2

# --- 4. resolve the modules ------------------------------------------------
#
# The .deb carries no modules.dep (depmod runs at install time), so read each
# module's "depends=" from its .modinfo section and load dependencies first.
# Modules built into the kernel (modules.builtin) are skipped.

find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' >"$work/modfiles"

modfile() { # module name -> file; '-' and '_' are the same in module names
	pat=$(echo "$1" | sed 's/[-_]/[-_]/g')
	grep -E "/${pat}\.ko(\.xz|\.zst|\.gz)?\$" "$work/modfiles" | head -n 1 | grep .
}

builtin() {
	n=$(echo "$1" | tr '-' '_')
	[ -f "$moddir/modules.builtin" ] &&
		tr '-' '_' <"$moddir/modules.builtin" | grep -q "/$n\.ko\$"
}

uncompressed() { # file -> path of an uncompressed copy
	f=$1
	out="$work/mods/$(basename "$f")"
	case $f in
	*.ko.xz)
		need xz xz-utils
		out=${out%.xz}
		xz -dc "$f" >"$out"
		;;
	*.ko.zst)
		need zstd zstd
		out=${out%.zst}
		zstd -qdc "$f" >"$out"
		;;
	*.ko.gz)
		out=${out%.gz}
		gzip -dc "$f" >"$out"
		;;
	*) cp "$f" "$out" ;;
	esac
	echo "$out"
}

mkdir -p "$work/mods"
: >"$work/order"
: >"$work/visiting"

visit() {
	local n f plain deps d
	n=$(echo "$1" | tr '-' '_')
	grep -qx "$n" "$work/order" && return 0
	grep -qx "$n" "$work/visiting" && die "module dependency cycle at $n"
	if builtin "$n"; then
		return 0
	fi
	f=$(modfile "$n") || die "module $n not found in $kver and not built in"
	echo "$n" >>"$work/visiting"
	plain=$(uncompressed "$f")
	deps=$(tr '\000' '\n' <"$plain" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
	for d in $deps; do
		visit "$d"
	done
	echo "$n" >>"$work/order"
}

# virtio_pci: the PCI transport; virtio_net: the NIC. Their dependencies
# (virtio_ring, virtio, virtio_pci_modern_dev, virtio_pci_legacy_dev, failover,
# net_failover on 6.1) follow from .modinfo.
for m in virtio_pci virtio_net; do
	visit "$m"
done

# --- 5. the initrd tree ----------------------------------------------------

root="$work/root"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/dev" "$root/proc" "$root/sys" "$root/run" "$root/tmp" \
	"$root/etc" "$root/lib/modules" "$root/usr/share/udhcpc"
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$init_src" "$root/init"
chmod 0755 "$root/init"

: >"$root/lib/modules/load-order"
while IFS= read -r n; do
	f=$(ls "$work/mods/" | while IFS= read -r x; do
		[ "$(echo "${x%.ko}" | tr '-' '_')" = "$n" ] && echo "$x"
	done | head -n 1)
	cp "$work/mods/$f" "$root/lib/modules/$n.ko"
	echo "$n" >>"$root/lib/modules/load-order"
done <"$work/order"
echo "build-guest.sh: modules (load order): $(tr '\n' ' ' <"$root/lib/modules/load-order")" >&2

# udhcpc's default script applies the lease (it ships none in the binary).
cat >"$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	if [ -n "${router:-}" ]; then
		for r in $router; do
			ip route add default via "$r" dev "$interface"
			break
		done
	fi
	: >/etc/resolv.conf
	for d in ${dns:-}; do echo "nameserver $d" >>/etc/resolv.conf; done
	;;
esac
exit 0
EOF
chmod 0755 "$root/usr/share/udhcpc/default.script"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$work/initrd.cpio") ||
	die "cpio failed"
gzip -9 -n "$work/initrd.cpio" || die "gzip failed"

cp "$vmlinuz" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$cache/vmlinuz"
mv -f "$work/initrd.cpio.gz" "$cache/initrd.cpio.gz"
echo "$kver" >"$cache/kernel-version"
echo "$inputs" >"$stamp"

echo "$cache/vmlinuz"
echo "$cache/initrd.cpio.gz"
