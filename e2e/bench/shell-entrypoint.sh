#!/bin/sh
# The honest shell alternative to sleeve-check --probe=off, for the
# benchmark: check the token is there and looks like a setup-token, set
# the onboarding flag with jq (temp file + rename), exec the command.
set -eu
[ -n "${CLAUDE_CODE_OAUTH_TOKEN:-}" ] || { echo "entrypoint: CLAUDE_CODE_OAUTH_TOKEN is not set" >&2; exit 4; }
case "$CLAUDE_CODE_OAUTH_TOKEN" in
sk-ant-oat01-*) ;;
*) echo "entrypoint: CLAUDE_CODE_OAUTH_TOKEN is not a setup-token" >&2; exit 5 ;;
esac
f=$HOME/.claude.json
[ -s "$f" ] || echo '{}' >"$f"
if [ "$(jq -r '.hasCompletedOnboarding' "$f")" != true ]; then
	tmp=$(mktemp "$f.XXXXXX")
	jq '.hasCompletedOnboarding = true' "$f" >"$tmp" && mv "$tmp" "$f"
fi
exec "$@"
