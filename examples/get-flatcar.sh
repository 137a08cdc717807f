#!/bin/sh
# Download Flatcar's PXE kernel and initrd (and their signatures) into a
# catalog's assets directory. Run it yourself; no test runs it.
#   usage: examples/get-flatcar.sh CATALOG_DIR [VERSION] [CHANNEL]
#   e.g.:  examples/get-flatcar.sh examples/production current stable
# The profiles reference /assets/flatcar/current/...; if you pin a version,
# change the profiles' kernel and initrd paths to match.
set -eu
dir=${1:?usage: $0 CATALOG_DIR [VERSION] [CHANNEL]}; version=${2:-current}; channel=${3:-stable}
dest="$dir/assets/flatcar/$version"; base="https://$channel.release.flatcar-linux.net/amd64-usr/$version"
mkdir -p "$dest"
curl -fL -o "$dest/flatcar_production_pxe.vmlinuz" "$base/flatcar_production_pxe.vmlinuz"
# the PXE kernel is the image kernel; its signature is published under that name
curl -fL -o "$dest/flatcar_production_pxe.vmlinuz.sig" "$base/flatcar_production_image.vmlinuz.sig"
curl -fL -o "$dest/flatcar_production_pxe_image.cpio.gz" "$base/flatcar_production_pxe_image.cpio.gz"
curl -fL -o "$dest/flatcar_production_pxe_image.cpio.gz.sig" "$base/flatcar_production_pxe_image.cpio.gz.sig"
if command -v gpg >/dev/null 2>&1; then
  curl -fsSL https://www.flatcar.org/security/image-signing-key/Flatcar_Image_Signing_Key.asc | gpg --import
  gpg --verify "$dest/flatcar_production_pxe.vmlinuz.sig" "$dest/flatcar_production_pxe.vmlinuz"
  gpg --verify "$dest/flatcar_production_pxe_image.cpio.gz.sig" "$dest/flatcar_production_pxe_image.cpio.gz"
else
  echo "gpg not found: signatures downloaded to $dest but not verified" >&2
fi
