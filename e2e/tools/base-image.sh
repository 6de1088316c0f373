#!/bin/sh
# Makes the local Debian bookworm base image for Dockerfile.sleeve, since no
# image registry can be reached here: debootstrap (minbase, with tini and
# ca-certificates, and dtach for the protectorate target) from the machine's own apt mirror, then podman import.
# The root filesystem tarball is cached in .cache/ between runs.
set -eu
cd "$(dirname "$0")/../.."
IMAGE=${BASE_IMAGE:-localhost/sleeve-base:bookworm-dtach}
CACHE=${CACHE_DIR:-$PWD/.cache}
TAR=$CACHE/sleeve-base-bookworm-dtach.tar
PODMAN=${PODMAN:-podman}

# PODMAN may be docker: both have image inspect and import.
if $PODMAN image inspect "$IMAGE" >/dev/null 2>&1; then
	echo "base-image: $IMAGE exists"
	exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$TAR" ]; then
	# The mirror is the machine's own apt configuration: never a name written here.
	MIRROR=$(grep -rhE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		grep -v security | head -1 | sed -E 's/^URIs: *//; s/^deb +(\[[^]]*\] +)?//; s/ .*//')
	[ -n "$MIRROR" ] || { echo "base-image: no Debian mirror in /etc/apt" >&2; exit 1; }
	ROOT=$(mktemp -d)
	trap 'rm -rf "$ROOT"' EXIT
	echo "base-image: debootstrap bookworm (minbase) from the configured mirror"
	debootstrap --variant=minbase --include=tini,ca-certificates,dtach bookworm "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
	rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
	tar -C "$ROOT" -cf "$TAR.tmp" . && mv "$TAR.tmp" "$TAR"
fi
$PODMAN import "$TAR" "$IMAGE" >/dev/null
echo "base-image: imported $IMAGE"
