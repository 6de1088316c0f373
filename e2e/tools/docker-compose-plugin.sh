#!/bin/sh
# Builds Docker's compose v2 plugin from its Go module (the module proxy
# serves it; no release download is reachable here) into
# .cache/docker-cli-plugins/docker-compose, once. `go install` refuses the
# module (its go.mod has exclude directives), so the module is downloaded
# and built in a writable copy. Prints the plugin directory.
set -eu
cd "$(dirname "$0")/../.."
VERSION=${COMPOSE_VERSION:-v2.40.3}
DIR=${CACHE_DIR:-$PWD/.cache}/docker-cli-plugins
if [ -x "$DIR/docker-compose" ] && "$DIR/docker-compose" version 2>/dev/null | grep -q "$VERSION"; then
	echo "$DIR"
	exit 0
fi
mkdir -p "$DIR"
SRC=$(GOFLAGS=-mod=mod go mod download -json "github.com/docker/compose/v2@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$SRC" ] || { echo "docker-compose-plugin: go mod download gave no directory" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cp -R "$SRC/." "$WORK/"
chmod -R u+w "$WORK"
(cd "$WORK" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$VERSION" -o "$DIR/docker-compose" ./cmd) >&2
echo "$DIR"
