#!/bin/sh
# make image: Dockerfile.sleeve built here from a clean checkout, with local
# base images only (no image registry is reachable from these machines): a
# Debian base from debootstrap (e2e/tools/base-image.sh) and a Go builder from it
# plus this machine's Go toolchain (e2e/tools/go-image.sh). The build stage
# fetches Go modules and the pinned Claude Code release from this machine's
# own proxy and registry (read from its configuration), trusting its CA
# bundle. Tags sleeve:VERSION, sleeve-check:VERSION and
# sleeve-protectorate:VERSION (Envoy's layout, docs/protectorate.md), and
# prints them.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib/common.sh
. e2e/lib/podman.sh
e2e_begin
need_root
install_packages podman runc debootstrap
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
export PODMAN
./e2e/tools/base-image.sh
GO_IMAGE=localhost/sleeve-go:$(go env GOVERSION) ./e2e/tools/go-image.sh
set -- --format docker --network host $RUNFLAGS -f Dockerfile.sleeve \
	--build-arg GO_IMAGE="localhost/sleeve-go:$(go env GOVERSION)" \
	--build-arg BASE_IMAGE=localhost/sleeve-base:bookworm-dtach --build-arg INSTALL_PACKAGES=0 \
	--build-arg GOPROXY="$(go env GOPROXY)" --build-arg VERSION="$VERSION" --build-arg COMMIT="$COMMIT" \
	--build-arg CLAUDE_VERSION="$(cat e2e/fixtures/claude-version)"
if command -v npm >/dev/null; then set -- "$@" --build-arg NPM_CONFIG_REGISTRY="$(npm config get registry)"; fi
# A machine whose traffic passes a TLS-inspecting proxy has its CA only in
# its own bundle: the build stage sees that bundle.
CA=/etc/ssl/certs/ca-certificates.crt
[ -s "$CA" ] && set -- "$@" -v "$CA:$CA:ro"
step "build sleeve-check:$VERSION (FROM scratch), sleeve:$VERSION and sleeve-protectorate:$VERSION"
$PODMAN build "$@" --target sleeve-check -t "localhost/sleeve-check:$VERSION" . >"$E2E_TMP/build.log" 2>&1 ||
	{ tail -30 "$E2E_TMP/build.log" >&2; fail "building the sleeve-check image failed"; }
$PODMAN build "$@" --target sleeve -t "localhost/sleeve:$VERSION" . >>"$E2E_TMP/build.log" 2>&1 ||
	{ tail -30 "$E2E_TMP/build.log" >&2; fail "building the sleeve image failed"; }
$PODMAN build "$@" --target protectorate -t "localhost/sleeve-protectorate:$VERSION" . >>"$E2E_TMP/build.log" 2>&1 ||
	{ tail -30 "$E2E_TMP/build.log" >&2; fail "building the protectorate image failed"; }
for i in sleeve-check sleeve sleeve-protectorate; do
	echo "localhost/$i:$VERSION $(( $($PODMAN image inspect "localhost/$i:$VERSION" --format '{{.Size}}') / 1048576 )) MiB"
done
