#!/bin/sh
# Build OpenTofu and terraform-provider-matchbox from the Go module proxy and
# cache both binaries outside the clone, keyed by version, so only the first
# run pays for the build (tofu: about 8 minutes on 2 cores).
#
#   e2e/tofu/build.sh [CACHE_ROOT]
#
# CACHE_ROOT defaults to $PROVISIOND_CI_CACHE or /var/cache/provisiond-ci.
# Prints the two binary paths (tofu, then the provider) on stdout.
#
# `go install github.com/opentofu/opentofu/cmd/tofu@v1.12.6` is refused
# because tofu's go.mod has a replace directive, so the module is downloaded,
# copied to a writable directory and built there with its own go.mod.
set -eu

TOFU_VERSION=1.12.6
PROVIDER_VERSION=0.5.4
root=${1:-${PROVISIOND_CI_CACHE:-/var/cache/provisiond-ci}}

tofu_dir=$root/tofu-$TOFU_VERSION
provider_dir=$root/terraform-provider-matchbox-$PROVIDER_VERSION
tofu=$tofu_dir/tofu
provider=$provider_dir/terraform-provider-matchbox_v$PROVIDER_VERSION

log() { echo "build.sh: $*" >&2; }

# build MODULE VERSION PACKAGE OUT: download MODULE@VERSION through the Go
# module proxy, copy it to a writable directory and build PACKAGE there
# with the module's own go.mod (replace directives included). `go install
# MODULE@VERSION` cannot be used: it refuses tofu's replace directive, and
# it asks the proxy for the module's version list (for deprecation notes),
# which a proxy serving exact versions only refuses.
build() {
	module=$1 version=$2 pkg=$3 out=$4
	[ -x "$out" ] && { log "cached $out"; return; }
	mkdir -p "$(dirname "$out")"
	dir=$(go mod download -json "$module@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$dir" ] || { log "go mod download gave no Dir for $module@$version"; exit 1; }
	src=$(mktemp -d "$(dirname "$out")/src.XXXXXX")
	cp -R "$dir/." "$src/"
	chmod -R u+w "$src"
	log "building $module $version in $src"
	(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" "$pkg")
	mv "$out.tmp" "$out"
	rm -rf "$src"
}

build github.com/poseidon/terraform-provider-matchbox "v$PROVIDER_VERSION" . "$provider"
build github.com/opentofu/opentofu "v$TOFU_VERSION" ./cmd/tofu "$tofu"
echo "$tofu"
echo "$provider"
