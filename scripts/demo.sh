#!/bin/sh
# make demo: the whole flow on loopback against the project's fake API.
# No real credential is used: the tokens below are made up.
set -eu
cd "$(dirname "$0")/.."
BIN=$PWD/bin
. ./scripts/fake-token.sh
WORK=$(mktemp -d)
FAKE_PID=
cleanup() { [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

GOOD=$(fake_token oat01 demo-good)
OLD=$(fake_token oat01 demo-old)

"$BIN/fake-anthropic" -url-file "$WORK/url" -token "$GOOD=valid" -token "$OLD=expired" >/dev/null &
FAKE_PID=$!
i=0; while [ ! -s "$WORK/url" ]; do i=$((i+1)); [ $i -gt 100 ] && { echo "fake API did not start"; exit 1; }; sleep 0.05; done
URL=$(cat "$WORK/url")
mkdir -p "$WORK/home/workspace"
# A subscription token is proved by Claude Code itself: the real CLI, the
# pinned release, installed into .cache/ the first time.
mkdir -p "$WORK/claude-bin"
ln -s "$(./e2e/tools/install-claude.sh)" "$WORK/claude-bin/claude"
PATH=$WORK/claude-bin:$PATH

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# run DESCRIPTION ARGS...: DESCRIPTION is what is shown (tokens by name, never by value).
run() {
	printf '$ %s\n' "$1"
	shift
	set +e
	env -i PATH="$PATH" HOME="$WORK/home" ANTHROPIC_BASE_URL="$URL" NO_COLOR=1 "$@"
	rc=$?
	set -e
	printf '[exit %d]\n' $rc
	return 0
}

say "1. The fake Anthropic API listens on $URL (loopback only)"

say "2. Manual debugging: sleeve-check --verbose, no command: checks and probes (a subscription token through claude -p, as only Claude Code may send it); writes none of its own keys"
cd "$WORK/home/workspace"
run 'CLAUDE_CODE_OAUTH_TOKEN=$GOOD sleeve-check --verbose' CLAUDE_CODE_OAUTH_TOKEN="$GOOD" "$BIN/sleeve-check" --verbose

say "3. The entrypoint: checks pass, the onboarding flag is written, the command is exec'd"
run 'CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$PWD sleeve-check -- sh -c ...' \
	CLAUDE_CODE_OAUTH_TOKEN="$GOOD" SLEEVE_CHECK_TRUST_DIRS="$WORK/home/workspace" "$BIN/sleeve-check" -- \
	sh -c 'echo "exec ok: this shell replaced sleeve-check (pid $$); claude would start here"; echo "~/.claude.json (beside the keys claude -p, the probe, keeps there):"; grep hasCompletedOnboarding "$HOME/.claude.json"'

say "4. An expired token: the API answers 401, sleeve-check stops before the command"
run 'CLAUDE_CODE_OAUTH_TOKEN=$OLD sleeve-check -- sh -c ...' CLAUDE_CODE_OAUTH_TOKEN="$OLD" "$BIN/sleeve-check" -- sh -c 'echo "never printed"'
echo "Exit 6 is credential_rejected: the token is expired, revoked or refused; create a new one with claude setup-token."

say "5. A token pasted with quotes (docker --env-file keeps them): caught locally, exit 5"
run 'CLAUDE_CODE_OAUTH_TOKEN="\"$GOOD\"" sleeve-check -- true' CLAUDE_CODE_OAUTH_TOKEN="\"$GOOD\"" "$BIN/sleeve-check" -- true

say "6. The same report as JSON, for a manager reading it with docker exec"
run 'CLAUDE_CODE_OAUTH_TOKEN=$GOOD sleeve-check --json' CLAUDE_CODE_OAUTH_TOKEN="$GOOD" "$BIN/sleeve-check" --json

say "Check: no token value appeared above"
echo "(scripts/demo-check.sh, run by make test, fails if one does)"

say "Exit codes (sleeve-check --help)"
"$BIN/sleeve-check" --help | sed -n '/^Exit codes:/,$p'
