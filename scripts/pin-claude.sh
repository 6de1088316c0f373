#!/bin/sh
# scripts/pin-claude.sh VERSION: pins the Claude Code release the project
# tests and the image installs: e2e/fixtures/claude-version, and Dockerfile.sleeve's
# CLAUDE_VERSION and the npm integrity of its linux-x64 and linux-arm64
# packages (read from the machine's npm registry). Then run make e2e-claude.
set -eu
cd "$(dirname "$0")/.."
V=${1:?usage: scripts/pin-claude.sh VERSION}
X64=$(npm view "@anthropic-ai/claude-code-linux-x64@$V" dist.integrity)
A64=$(npm view "@anthropic-ai/claude-code-linux-arm64@$V" dist.integrity)
[ -n "$X64" ] && [ -n "$A64" ] || { echo "pin-claude: $V has no native linux packages" >&2; exit 1; }
echo "$V" >e2e/fixtures/claude-version
sed -i -e "s|^ARG CLAUDE_VERSION=.*|ARG CLAUDE_VERSION=$V|" \
	-e "s|^ARG CLAUDE_INTEGRITY_AMD64=.*|ARG CLAUDE_INTEGRITY_AMD64=$X64|" \
	-e "s|^ARG CLAUDE_INTEGRITY_ARM64=.*|ARG CLAUDE_INTEGRITY_ARM64=$A64|" Dockerfile.sleeve
echo "pinned Claude Code $V"
