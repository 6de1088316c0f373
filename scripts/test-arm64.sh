#!/bin/sh
# make test-arm64: the arm64 release binary and the tests, under qemu user
# emulation, on any Linux machine. Installs Debian's qemu-user-static if
# missing (as root).
set -eu
cd "$(dirname "$0")/.."
if ! command -v qemu-aarch64-static >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
fi
BIN=$PWD/dist/sleeve-check-linux-arm64
echo "== the arm64 binary runs: $(qemu-aarch64-static "$BIN" --version)"
echo "== every package's tests, built for arm64, under qemu"
PKGS=$(go list ./... | grep -v '/cmd/sleeve-check$')
GOARCH=arm64 CGO_ENABLED=0 go test -count=1 -exec qemu-aarch64-static $PKGS
echo "== the CLI tests and every testscript, against the arm64 binary under qemu"
# (A subscription token is proved by the real Claude Code CLI, the host's.)
SLEEVE_CHECK_TEST_CLAUDE=${SLEEVE_CHECK_TEST_CLAUDE:-$(./e2e/tools/install-claude.sh)}
export SLEEVE_CHECK_TEST_CLAUDE
SLEEVE_CHECK_TEST_BINARY=$BIN SLEEVE_CHECK_TEST_EXEC=qemu-aarch64-static go test -count=1 ./cmd/sleeve-check
echo "test-arm64: all passed"
