#!/bin/sh
# Installs a Claude Code CLI release from npm into .cache/ and prints the
# path of a `claude` that runs it: the pinned one (e2e/fixtures/claude-version), or
# CLAUDE_VERSION. Releases from 2.1.113 on are native binaries, carried by
# the package's linux-x64 optional dependency (no Node needed); the ones
# before are cli.js packages, run here by the machine's node (18 or later),
# through a small `claude` wrapper so that the command is still "claude".
set -eu
cd "$(dirname "$0")/../.."
V=${CLAUDE_VERSION:-$(cat e2e/fixtures/claude-version)}
DIR=$PWD/.cache/claude-code-$V
NATIVE=$DIR/node_modules/@anthropic-ai/claude-code-linux-x64/claude
CLIJS=$DIR/node_modules/@anthropic-ai/claude-code/cli.js
if [ ! -x "$NATIVE" ] && [ ! -f "$CLIJS" ]; then
	mkdir -p "$DIR"
	(cd "$DIR" && npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$V" >&2)
fi
if [ -x "$NATIVE" ]; then
	BIN=$NATIVE
else
	command -v node >/dev/null || { echo "install-claude: $V is a cli.js release and needs node 18 or later" >&2; exit 1; }
	BIN=$DIR/bin/claude
	mkdir -p "$DIR/bin"
	printf '#!/bin/sh\nexec node %s "$@"\n' "$CLIJS" >"$BIN"
	chmod 0755 "$BIN"
fi
got=$("$BIN" --version 2>/dev/null | awk '{print $1}')
[ "$got" = "$V" ] || { echo "install-claude: $BIN reports version '$got', want $V" >&2; exit 1; }
echo "$BIN"
