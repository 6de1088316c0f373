# The unattended-start cases of the real Claude Code CLI, each written once
# (sourced after e2e/lib/common.sh and e2e/lib/tmux.sh; only defines).
# make e2e-claude runs prompt, bypass, mcp and notty for the pinned release,
# each as one of its steps, with checks of its own after some; make
# e2e-claude-matrix runs every case in CLAUDE_CASES for each release and
# prints a table of release x case.
#
# case_NAME SESSION: HOME is $E2E_TMP/SESSION (left in H), a tmux session is
# SESSION. They need GOOD (a valid subscription token, answering REPLY),
# USAGEOK (usage_ok), FAKE_URL and, for usage, RELEASE (the release in
# PATH). CASE_ENV is added to each claude's environment (the matrix:
# DISABLE_AUTOUPDATER=1).
#   prompt  sleeve-check -- claude opens at the prompt (no onboarding, no
#           trust dialog); a message round-trips
#   bypass  as a non-root user, --dangerously-skip-permissions with the
#           warning accepted ahead: no warning, the prompt, a round trip
#   mcp     a project .mcp.json approved ahead: no dialog, the server started
#   notty   the CLI without a terminal and a prompt fails; sleeve-check
#           stops first with 3; a piped prompt answers
#   usage   what the probe (claude -p of this release) tells of the
#           subscription's windows
CLAUDE_CASES="prompt bypass mcp notty usage"

case_prompt() {
	H=$(fresh_home "$1")
	EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace ${CASE_ENV:-}" sleeve "$1" "$H" -- claude
	wait_screen "$1" "$PROMPT" 40
	no_screen "$1" "Welcome to Claude Code|Do you trust|trust the files"
	talk "$1"
}

case_bypass() {
	H=$(fresh_home "$1")
	chown -R 4242:4242 "$H"
	EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace SLEEVE_CHECK_ACCEPT_BYPASS_PERMISSIONS=true ${CASE_ENV:-}" \
		sleeve "$1" "$H" --user 4242:4242 -- claude --dangerously-skip-permissions
	wait_screen "$1" "$PROMPT" 40
	no_screen "$1" "Bypass Permissions mode"
	talk "$1"
}

# mcp_project HOME: a workspace whose .mcp.json has one server that leaves
# a mark (HOME/marker-started) when the CLI starts it.
mcp_project() {
	printf '{"mcpServers": {"marker": {"command": "sh", "args": ["-c", "touch %s/marker-started; exec cat"]}}}\n' "$1" >"$1/workspace/.mcp.json"
}

case_mcp() {
	H=$(fresh_home "$1")
	mcp_project "$H"
	EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace SLEEVE_CHECK_APPROVE_MCP_SERVERS=marker ${CASE_ENV:-}" sleeve "$1" "$H" -- claude
	wait_screen "$1" "$PROMPT" 40
	no_screen "$1" "MCP server"
	talk "$1"
	[ -e "$H/marker-started" ] || fail "the approved MCP server was not started"
}

# nott CMD...: CMD in H/workspace without a terminal, as in a container
# started without -it: standard input /dev/null (or what is piped in),
# standard output a pipe.
nott() {
	(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$GOOD" \
		SLEEVE_CHECK_TRUST_DIRS="$H/workspace" ${CASE_ENV:-} "$@" 2>&1 | cat)
}

# case_notty leaves what each run printed: NOTTY_CONTROL (claude alone),
# NOTTY_STOP (sleeve-check -- claude), NOTTY_PIPED (a piped prompt).
case_notty() {
	H=$(fresh_home "$1")
	NOTTY_CONTROL=$(nott sh -c 'claude </dev/null; echo "[exited $?]"' || true)
	if echo "$NOTTY_CONTROL" | grep -q '\[exited 0\]'; then fail "control: the CLI without a terminal and a prompt did not fail: $NOTTY_CONTROL"; fi
	NOTTY_STOP=$(nott sh -c '"$0" -- claude </dev/null; echo "[exited $?]"' "$ROOT/bin/sleeve-check" || true)
	echo "$NOTTY_STOP" | grep -q '\[exited 3\]' || fail "sleeve-check did not stop with 3: $NOTTY_STOP"
	NOTTY_PIPED=$(nott sh -c 'echo "say hi" | "$0" -- claude' "$ROOT/bin/sleeve-check")
	echo "$NOTTY_PIPED" | grep -q "$REPLY" || fail "a piped prompt got no answer: $NOTTY_PIPED"
}

# at_least A B: release A is B or later.
at_least() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$2" ]; }

# case_usage: each window with its utilization from 2.1.242; from 2.1.45
# (the first rate_limit_event) the binding window's state; before it,
# nothing ("unknown").
case_usage() {
	H=$(fresh_home "$1")
	want='^usage: +unknown \(claude [0-9.]+ does not report'
	if at_least "$RELEASE" 2.1.242; then want='^usage: +5h 12%, 7d 35%$'; elif at_least "$RELEASE" 2.1.45; then want='^usage: +5-hour allowed$'; fi
	OUT=$(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$USAGEOK" \
		${CASE_ENV:-} SLEEVE_CHECK_STATE_DIR="$H/state" "$ROOT/bin/sleeve-check" 2>&1)
	echo "$OUT" | grep -qE "$want" || fail "claude $RELEASE: no /$want/ in: $OUT"
	echo "$OUT" | grep -E '^(probe|usage):'
}
