#!/bin/sh
# make e2e-claude-matrix: the unattended-start cases against every Claude
# Code release in e2e/fixtures/claude-releases (or those in MATRIX_RELEASES), each in
# tmux against the fake API, and a table of release x case at the end:
#   prompt  sleeve-check -- claude opens at the prompt; a message round-trips
#   bypass  as a non-root user, --dangerously-skip-permissions with the
#           warning accepted ahead: no warning, the prompt, a round trip
#   mcp     a project .mcp.json approved ahead: no dialog, the server started
#   no-tty  the CLI without a terminal and a prompt fails; sleeve-check
#           stops first with 3; a piped prompt answers
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib/common.sh

need_root
install_packages tmux jq curl
make -s build >/dev/null
RELEASES=${MATRIX_RELEASES:-$(grep -v '^#' e2e/fixtures/claude-releases | awk 'NF {print $1}')}
GOOD=$(fake_token oat01 good)
REPLY="Hello from the fake API"
USAGEOK=$(fake_token oat01 usok)
start_fake -token "$GOOD=valid,reply=$REPLY" -token "$USAGEOK=usage_ok"
. e2e/lib/tmux.sh
chmod 0755 "$E2E_TMP"
# One session for the whole run keeps the tmux server up: when a case's
# last session ends, the server exits, and the next case's new session
# could reach it while it shuts down (seen once: "no server running").
tmux new-session -d -s matrix-keeper "sleep 100000"
SESSIONS=matrix-keeper

# use_release V: puts release V's claude first in PATH ($E2E_TMP/bin).
use_release() {
	bin=$(CLAUDE_VERSION=$1 ./e2e/tools/install-claude.sh)
	rm -rf "$E2E_TMP/bin" && mkdir -p "$E2E_TMP/bin" && ln -s "$bin" "$E2E_TMP/bin/claude"
	# The sleeve user (4242) must reach it, and node must read a cli.js.
	d=$bin; while [ "$d" != / ]; do d=$(dirname "$d"); chmod o+rx "$d" 2>/dev/null || true; done
	chmod -R o+rX "$ROOT/.cache/claude-code-$1" 2>/dev/null || true
}

case_prompt() {
	H=$(fresh_home "$1-prompt")
	EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace DISABLE_AUTOUPDATER=1" sleeve "$1-prompt" "$H" -- claude
	wait_screen "$1-prompt" "$PROMPT" 40
	no_screen "$1-prompt" "Welcome to Claude Code|Do you trust|trust the files"
	talk "$1-prompt"
}

case_bypass() {
	H=$(fresh_home "$1-bypass")
	chown -R 4242:4242 "$H"
	EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace SLEEVE_CHECK_ACCEPT_BYPASS_PERMISSIONS=true DISABLE_AUTOUPDATER=1" \
		sleeve "$1-bypass" "$H" --user 4242:4242 -- claude --dangerously-skip-permissions
	wait_screen "$1-bypass" "$PROMPT" 40
	no_screen "$1-bypass" "Bypass Permissions mode"
	talk "$1-bypass"
}

case_mcp() {
	H=$(fresh_home "$1-mcp")
	printf '{"mcpServers": {"marker": {"command": "sh", "args": ["-c", "touch %s/marker-started; exec cat"]}}}\n' "$H" >"$H/workspace/.mcp.json"
	EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace SLEEVE_CHECK_APPROVE_MCP_SERVERS=marker DISABLE_AUTOUPDATER=1" sleeve "$1-mcp" "$H" -- claude
	wait_screen "$1-mcp" "$PROMPT" 40
	no_screen "$1-mcp" "MCP server"
	talk "$1-mcp"
	[ -e "$H/marker-started" ] || fail "the approved MCP server was not started"
}

case_notty() {
	H=$(fresh_home "$1-notty")
	nott() { (cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$GOOD" \
		SLEEVE_CHECK_TRUST_DIRS="$H/workspace" DISABLE_AUTOUPDATER=1 "$@" 2>&1 | cat); }
	set +e
	OUT=$(nott sh -c 'claude </dev/null; echo "[exited $?]"')
	echo "$OUT" | grep -q '\[exited 0\]' && fail "control: the CLI without a terminal and a prompt did not fail: $OUT"
	OUT=$(nott sh -c '"$0" -- claude </dev/null; echo "[exited $?]"' "$ROOT/bin/sleeve-check")
	set -e
	echo "$OUT" | grep -q '\[exited 3\]' || fail "sleeve-check did not stop with 3: $OUT"
	OUT=$(nott sh -c 'echo "say hi" | "$0" -- claude' "$ROOT/bin/sleeve-check")
	echo "$OUT" | grep -q "$REPLY" || fail "a piped prompt got no answer: $OUT"
}

# usage: what the probe (claude -p of this release) tells of the
# subscription's windows: each window with its utilization from 2.1.242;
# from 2.1.45 (the first rate_limit_event) the binding window's state; before
# it, nothing ("unknown").
case_usage() {
	H=$(fresh_home "$1-usage")
	want='^usage: +unknown \(claude [0-9.]+ does not report'
	if at_least "$v" 2.1.242; then want='^usage: +5h 12%, 7d 35%$'; elif at_least "$v" 2.1.45; then want='^usage: +5-hour allowed$'; fi
	OUT=$(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$USAGEOK" \
		DISABLE_AUTOUPDATER=1 SLEEVE_CHECK_STATE_DIR="$H/state" "$ROOT/bin/sleeve-check" 2>&1)
	echo "$OUT" | grep -qE "$want" || fail "claude $v: no /$want/ in: $OUT"
	echo "$OUT" | grep -E '^(probe|usage):'
}

# at_least A B: release A is B or later.
at_least() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$2" ]; }

CASES="prompt bypass mcp notty usage"
TABLE="| release | $(echo $CASES | sed 's/ / | /g') |"
TABLE="$TABLE
|---|$(for _ in $CASES; do printf -- '---|'; done)"
failed=0
for v in $RELEASES; do
	step "Claude Code $v"
	use_release "$v"
	echo "claude: $("$E2E_TMP/bin/claude" --version)"
	row="| $v |"
	for c in $CASES; do
		s=$(echo "m$v" | tr -d .)
		if (SESSIONS=; trap cleanup_extra EXIT; "case_$c" "$s") >"$E2E_TMP/$s-$c.log" 2>&1; then
			row="$row ok |"; ok "$v $c"
		else
			row="$row FAIL |"; failed=1
			printf 'FAIL: %s %s\n' "$v" "$c"; sed 's/^/    /' "$E2E_TMP/$s-$c.log" | tail -25
		fi
	done
	TABLE="$TABLE
$row"
done
echo
echo "$TABLE"
[ "$failed" = 0 ] || fail "e2e-claude-matrix: some cases failed"
echo
echo "e2e-claude-matrix: all passed"
