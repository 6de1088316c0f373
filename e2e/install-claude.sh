#!/bin/sh
# Installs the pinned Claude Code CLI (e2e/claude-version) from npm into
# .cache/ and prints the path of its native binary. The npm package's
# linux-x64 optional dependency carries the binary; it needs no Node 22.
set -eu
cd "$(dirname "$0")/.."
V=${CLAUDE_VERSION:-$(cat e2e/claude-version)}
DIR=$PWD/.cache/claude-code-$V
BIN=$DIR/node_modules/@anthropic-ai/claude-code-linux-x64/claude
if [ ! -x "$BIN" ]; then
	mkdir -p "$DIR"
	(cd "$DIR" && npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$V" >&2)
fi
got=$("$BIN" --version 2>/dev/null | awk '{print $1}')
[ "$got" = "$V" ] || { echo "install-claude: $BIN reports version '$got', want $V" >&2; exit 1; }
echo "$BIN"
