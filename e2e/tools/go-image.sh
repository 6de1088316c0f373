#!/bin/sh
# Makes the local Go builder image for Dockerfile.sleeve's build stage,
# since no image registry can be reached here: the local Debian base
# (e2e/tools/base-image.sh) plus this machine's Go toolchain, at the same path.
set -eu
cd "$(dirname "$0")/../.."
BASE=${BASE_IMAGE:-localhost/sleeve-base:bookworm-dtach}
IMAGE=${GO_IMAGE:-localhost/sleeve-go:$(go env GOVERSION)}
PODMAN=${PODMAN:-podman}
# PODMAN may be docker (BUILD_FORMAT= then: docker builds its own format).
if $PODMAN image inspect "$IMAGE" >/dev/null 2>&1; then
	echo "go-image: $IMAGE exists"
	exit 0
fi
GOROOT=$(go env GOROOT)
CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT
printf 'FROM %s\nCOPY go /usr/local/go\nENV PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local\n' "$BASE" >"$CTX/Dockerfile"
cp -a "$GOROOT" "$CTX/go"
$PODMAN build ${BUILD_FORMAT---format docker} -q -t "$IMAGE" "$CTX" >/dev/null
echo "go-image: built $IMAGE from $BASE and $GOROOT"
