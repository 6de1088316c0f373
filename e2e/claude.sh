#!/bin/sh
# make e2e-claude: the real Claude Code CLI (the version in
# e2e/fixtures/claude-version), driven in tmux against the project's fake API on
# loopback, with HOME in a temporary folder. Each case prints the screen
# it saw when it fails.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib/common.sh
. e2e/lib/tmux.sh
. e2e/lib/claude-cases.sh
. e2e/lib/leftovers.sh
e2e_begin

need_root
install_packages tmux jq curl
make -s build >/dev/null
remove_leftovers tmux 'tmux:^c[0-9]+[a-d]?$'
# Other users (case 7) must reach the binary (use_claude) and the homes.
use_claude
VERSION=$(cat e2e/fixtures/claude-version)
echo "claude: $("$CLAUDE" --version) at $CLAUDE"
chmod 0755 "$E2E_TMP"

GOOD=$(fake_token oat01 good)
FILETOK=$(fake_token oat01 file)
OLD=$(fake_token oat01 old0)
REVOKED=$(fake_token oat01 rvkd)
LIMITED=$(fake_token oat01 lmtd)
APIKEY=$(fake_token api03 apik)
QUOTA=$(fake_token oat01 qota)
USAGEOK=$(fake_token oat01 usok)
USAGEWARN=$(fake_token oat01 uwrn)
REPLY="Hello from the fake API"
start_fake -token "$GOOD=valid,reply=$REPLY" -token "$FILETOK=valid,reply=$REPLY" -token "$APIKEY=valid,reply=$REPLY" \
	-token "$OLD=expired" -token "$REVOKED=revoked" -token "$LIMITED=rate_limited,retry_after=60" -token "$QUOTA=usage_limit" \
	-token "$USAGEOK=usage_ok,reply=$REPLY" -token "$USAGEWARN=usage_warning,reply=$REPLY"

step "1. control: claude alone, valid token, fresh HOME -> stops at onboarding"
H=$(fresh_home c1)
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD" run_tmux c1 "$H" claude
wait_screen c1 "Welcome to Claude Code"
wait_screen c1 "Unable to connect to Anthropic services|Choose the text style|Select login method"
no_screen c1 "$PROMPT"
ok "claude $VERSION still stops at its onboarding screen without sleeve-check"

step "2. sleeve-check -- claude: opens at the prompt; a message reaches the fake with Bearer + oauth beta"
case_prompt c2
last_request | jq -e '.credential == "bearer ...good" and (.anthropic_beta | test("oauth-2025-04-20")) and (.user_agent | startswith("claude-cli/"))' >/dev/null ||
	fail "the request did not carry the token as Bearer with the oauth beta: $(last_request)"
screen c2 | grep -q "$GOOD" && fail "the token is on the screen" || true
ok "prompt, no onboarding, no trust dialog; the answer came back"
C2_HOME=$H

step "3. the same with CLAUDE_CONFIG_DIR: the flag lands where the CLI reads it"
H=$(fresh_home c3)
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD CLAUDE_CONFIG_DIR=$H/cfg SLEEVE_CHECK_TRUST_DIRS=$H/workspace" sleeve c3 "$H" -- claude
talk c3
jq -e '.hasCompletedOnboarding == true' "$H/cfg/.claude.json" >/dev/null || fail "no flag in \$CLAUDE_CONFIG_DIR/.claude.json"
[ ! -e "$H/.claude.json" ] || fail "a ~/.claude.json was written although CLAUDE_CONFIG_DIR is set"
ok "flag in \$CLAUDE_CONFIG_DIR/.claude.json, and the CLI started from it"

step "4. ANTHROPIC_API_KEY: approved ahead of time, no question, x-api-key sent"
H=$(fresh_home c4)
EXTRA_ENV="ANTHROPIC_API_KEY=$APIKEY SLEEVE_CHECK_APPROVE_API_KEY=true SLEEVE_CHECK_TRUST_DIRS=$H/workspace" sleeve c4 "$H" -- claude
wait_screen c4 "$PROMPT"
no_screen c4 "Detected a custom API key"
talk c4
last_request | jq -e '.credential == "x-api-key ...apik"' >/dev/null || fail "no x-api-key: $(last_request)"
H=$(fresh_home c4b)
# The pane's whole output is kept: the CLI redraws the screen over
# sleeve-check's warning.
EXTRA_ENV="NO_COLOR=1 ANTHROPIC_API_KEY=$APIKEY SLEEVE_CHECK_TRUST_DIRS=$H/workspace" run_tmux c4b "$H" "sh -c 'sleep 1; exec $ROOT/bin/sleeve-check -- claude'"
tmux pipe-pane -o -t c4b "cat >>$E2E_TMP/c4b.log"
wait_screen c4b "Detected a custom API key"
grep -q 'warning: claude will ask "Detected a custom API key in your environment"' "$E2E_TMP/c4b.log" || fail "no warning without approval: $(cat "$E2E_TMP/c4b.log")"
ok "approved: no question and x-api-key; not approved: sleeve-check warned, and the CLI does ask"

step "5. a credentials file: the CLI uses it; an expired one on a read-only mount never reaches the CLI"
H=$(fresh_home c5)
mkdir -p "$H/.claude"
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"sk-ant-ort01-e2e","expiresAt":4102444800000,"scopes":["user:inference","user:profile"],"subscriptionType":"max"}}' "$FILETOK" >"$H/.claude/.credentials.json"
chmod 0600 "$H/.claude/.credentials.json"
EXTRA_ENV="SLEEVE_CHECK_TRUST_DIRS=$H/workspace" sleeve c5 "$H" -- claude
talk c5
last_request | jq -e '.credential == "bearer ...file"' >/dev/null || fail "the file's token was not used: $(last_request)"
H=$(fresh_home c5b)
mkdir -p "$H/.claude"
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"sk-ant-ort01-e2e","expiresAt":1600000000000,"scopes":["user:inference"]}}' "$OLD" >"$E2E_TMP/expired.json"
touch "$H/.claude/.credentials.json"
BEFORE=$(requests | jq length)
EXTRA_ENV="SLEEVE_CHECK_TRUST_DIRS=$H/workspace" run_tmux c5b "$H" unshare -m sh -c "'mount --bind $E2E_TMP/expired.json $H/.claude/.credentials.json && mount -o remount,ro,bind $H/.claude/.credentials.json && exec $ROOT/bin/sleeve-check -- claude'"
wait_screen c5b '\[exited 6\]'
wait_screen c5b 'read-only mount, so Claude Code cannot store a refreshed token'
no_screen c5b "Claude Code v|$PROMPT"
[ "$(requests | jq length)" = "$BEFORE" ] || fail "something reached the API"
ok "the file's token was sent; the expired read-only one stopped sleeve-check with exit 6 before the CLI"

step "6. a .claude.json that Claude Code wrote survives sleeve-check with every key"
jq -e '.numStartups >= 1 and (.projects | length) >= 1' "$C2_HOME/.claude.json" >/dev/null || fail "case 2's CLI wrote no state"
tmux kill-session -t c2
# A killed CLI saves its config once more on the way out: wait for that
# (for a second with no change and no CLI left; at most 10 s).
settled() {
	m=$(stat -c %Y.%s "$C2_HOME/.claude.json"); sleep 1
	[ "$m" = "$(stat -c %Y.%s "$C2_HOME/.claude.json")" ] && ! pgrep -f "HOME=$C2_HOME" >/dev/null
}
poll_until -every 0 10 settled || true
jq 'del(.hasCompletedOnboarding)' "$C2_HOME/.claude.json" >"$E2E_TMP/written.json"
cp "$E2E_TMP/written.json" "$C2_HOME/.claude.json"
# (No probe: it is claude -p, whose own writes to the file are not the point here.)
(cd "$C2_HOME/workspace" && env -i HOME="$C2_HOME" PATH=/usr/bin:/bin CLAUDE_CODE_OAUTH_TOKEN="$GOOD" ANTHROPIC_BASE_URL="$FAKE_URL" "$ROOT/bin/sleeve-check" --probe=off -- true)
jq -S '. + {hasCompletedOnboarding: true}' "$E2E_TMP/written.json" >"$E2E_TMP/want.json"
jq -S . "$C2_HOME/.claude.json" >"$E2E_TMP/got.json"
cmp -s "$E2E_TMP/want.json" "$E2E_TMP/got.json" || { diff "$E2E_TMP/want.json" "$E2E_TMP/got.json" >&2; fail "keys changed"; }
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD" sleeve c6 "$C2_HOME" -- claude
talk c6
ok "$(jq 'keys | length' "$E2E_TMP/written.json") keys kept; the CLI started from the file"

step "7. bypass mode: as a non-root user the warning waits; accepted ahead of time it does not; as root sleeve-check stops first"
H=$(fresh_home c7)
chown -R 4242:4242 "$H"
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace" sleeve c7 "$H" --user 4242:4242 -- claude --dangerously-skip-permissions
wait_screen c7 "Bypass Permissions mode"
no_screen c7 "$PROMPT"
case_bypass c7b
H=$(fresh_home c7c)
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD" run_tmux c7c "$H" claude --dangerously-skip-permissions
wait_screen c7c '\[exited 1\]'
wait_screen c7c 'root/sudo privileges'
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD" sleeve c7d "$H" -- claude --dangerously-skip-permissions
wait_screen c7d '\[exited 3\]'
wait_screen c7d 'error: claude refuses --dangerously-skip-permissions when run as root'
wait_screen c7d 'hint: set SLEEVE_CHECK_USER=agent \(--user agent\)'
ok "non-root: the warning waits, or is accepted ahead; root: claude exits 1 on its own, sleeve-check stops first with 3"

step "8. --probe=cli: claude -p as the probe, the same verdicts as --probe=http"
for c in "GOOD 0 valid" "OLD 6 expired" "REVOKED 6 revoked" "LIMITED 0 rate"; do
	set -- $c
	eval tok=\$$1
	H=$(fresh_home "p-$1")
	set +e
	OUT=$(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$tok" \
		"$ROOT/bin/sleeve-check" --probe=cli --probe-timeout=20s --json 2>&1)
	rc=$?
	set -e
	[ "$rc" = "$2" ] || fail "--probe=cli with $1: exit $rc, want $2: $OUT"
	echo "$OUT" | grep -q "$3" || fail "--probe=cli with $1: no '$3' in $OUT"
	echo "$OUT" | grep -q "$tok" && fail "--probe=cli with $1: the token leaked" || true
	echo "  $1: exit $rc; $(echo "$OUT" | grep -E '^sleeve-check: (error|warning)|"class"' | head -1 | sed 's/^ *//')"
done
ok "--probe=cli maps claude -p's JSON to the same classes and codes"

step "9. a legacy ~/.claude/.config.json: the CLI reads it, so sleeve-check prepares it, and the CLI opens at the prompt"
H=$(fresh_home c9)
mkdir -p "$H/.claude"
echo '{"numStartups": 5}' >"$H/.claude/.config.json"
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace" sleeve c9 "$H" -- claude
wait_screen c9 "$PROMPT"
no_screen c9 "Welcome to Claude Code|Do you trust"
talk c9
jq -e '.hasCompletedOnboarding == true and .numStartups >= 5' "$H/.claude/.config.json" >/dev/null || fail "the flag is not in .config.json"
ok "flag and trust in .claude/.config.json, the file the CLI reads; it opened at the prompt"

step "10. a trust dir reached through a symlink: the CLI sees the real path, and so does sleeve-check"
H=$(fresh_home c10)
rmdir "$H/workspace" && mkdir "$H/real-ws" && ln -s real-ws "$H/workspace"
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace" sleeve c10 "$H" -- claude
wait_screen c10 "$PROMPT"
no_screen c10 "Do you trust|trust the files"
talk c10
jq -e --arg p "$H/real-ws" '.projects[$p].hasTrustDialogAccepted == true' "$H/.claude.json" >/dev/null || fail "the real path is not trusted"
ok "trusted $H/real-ws for the link $H/workspace; no trust dialog"

step "11. no terminal (docker run without -it): the CLI falls into print mode and exits 1; sleeve-check stops first; a piped prompt still works"
case_notty c11
OUT=$NOTTY_CONTROL
echo "$OUT" | grep -q 'Input must be provided either through stdin or as a prompt argument' && echo "$OUT" | grep -q '\[exited 1\]' ||
	fail "control: the CLI without a terminal did not fail as expected: $OUT"
echo "  control: claude </dev/null | cat -> $(echo "$OUT" | head -1)"
OUT=$NOTTY_STOP
echo "$OUT" | grep -q 'error: claude (standard output is not a terminal, so it runs in print mode) has no prompt' || fail "no message: $OUT"
echo "$OUT" | grep -q 'hint: give the sleeve a terminal: docker run -it' || fail "no hint: $OUT"
echo "$OUT" | grep -q '^Error: Input must be provided' && fail "the CLI ran: $OUT"
echo "  sleeve-check -- claude </dev/null | cat -> exit 3: $(echo "$OUT" | grep '^sleeve-check: error' | cut -c1-110)..."
OUT=$(nott sh -c '"$0" -- claude "say hi" </dev/null' "$ROOT/bin/sleeve-check")
echo "$OUT" | grep -q "$REPLY" || fail "a prompt argument got no answer: $OUT"
ok "no terminal: stopped with 3 before the CLI ran; a piped prompt and a prompt argument still answered"

step "12. a project .mcp.json: the CLI asks about its servers and waits; sleeve-check foresees it; approved ahead, the CLI opens at the prompt and starts the server"
H=$(fresh_home c12)
mcp_project "$H"
EXTRA_ENV="NO_COLOR=1 CLAUDE_CODE_OAUTH_TOKEN=$GOOD SLEEVE_CHECK_TRUST_DIRS=$H/workspace" run_tmux c12 "$H" "sh -c 'sleep 1; exec $ROOT/bin/sleeve-check -- claude'"
tmux pipe-pane -o -t c12 "cat >>$E2E_TMP/c12.log"
wait_screen c12 "New MCP server found in this project: marker"
grep -q 'warning: claude will ask whether to use the MCP servers "marker"' "$E2E_TMP/c12.log" || fail "not foreseen: $(cat "$E2E_TMP/c12.log")"
[ ! -e "$H/marker-started" ] || fail "the server started before it was approved"
case_mcp c12b
jq -e '.enabledMcpjsonServers == ["marker"]' "$H/.claude/settings.json" >/dev/null || fail "no approval in settings.json"
ok "foreseen; approved ahead: no MCP dialog, the CLI started the server, a message round-tripped"

step "13. credentials seeded from a read-only mount: copied where the CLI reads them, and used"
H=$(fresh_home c13)
mkdir -p "$H/creds"
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"sk-ant-ort01-e2eSeed","expiresAt":4102444800000,"scopes":["user:inference","user:profile"]}}' "$FILETOK" >"$H/creds/.credentials.json"
chmod 0444 "$H/creds/.credentials.json" && chmod 0555 "$H/creds"
EXTRA_ENV="SLEEVE_CHECK_SEED_CREDENTIALS=$H/creds/.credentials.json SLEEVE_CHECK_TRUST_DIRS=$H/workspace" sleeve c13 "$H" -- claude
wait_screen c13 "$PROMPT"
no_screen c13 "Welcome to Claude Code|Not logged in"
talk c13
last_request | jq -e '.credential == "bearer ...file"' >/dev/null || fail "the seeded token was not used: $(last_request)"
[ "$(stat -c %a "$H/.claude/.credentials.json")" = 600 ] || fail "the copy is not mode 0600"
ok "the seed was copied to ~/.claude/.credentials.json (0600), and the CLI used it"

step "14. a used-up subscription window: the real CLI prints its own usage-limit message from the fake; sleeve-check stops with 11 and the reset time (auto runs claude -p for a subscription token)"
H=$(fresh_home c14)
OUT=$(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$QUOTA" \
	CLAUDE_CODE_MAX_RETRIES=0 claude -p "say hi" </dev/null 2>&1 || true)
echo "$OUT" | grep -q "You've hit your 5-hour limit" || fail "the CLI did not read the fake's usage headers: $OUT"
echo "  the CLI itself: $OUT"
for probe in auto cli; do
	set +e
	OUT=$(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$QUOTA" \
		"$ROOT/bin/sleeve-check" --probe=$probe -- claude -p "say hi" 2>&1)
	rc=$?
	set -e
	[ "$rc" = 11 ] || fail "--probe=$probe: exit $rc, want 11: $OUT"
	echo "$OUT" | grep -q "error: the subscription's 5-hour limit is reached; it resets at [0-9: -]* UTC" || fail "--probe=$probe: no message with the reset: $OUT"
	echo "$OUT" | grep -q "$QUOTA" && fail "the token leaked"
	echo "  --probe=$probe: exit 11: $(echo "$OUT" | grep '^sleeve-check: error' | cut -c1-150)..."
done
ok "the CLI says the 5-hour limit is hit; sleeve-check stops with 11 and the reset before it"

step "15. the sanctioned probe: a subscription token reaches the API only in Claude Code's own requests; the usage windows come through claude -p"
H=$(fresh_home c15)
EXTRA_ENV="CLAUDE_CODE_OAUTH_TOKEN=$USAGEOK SLEEVE_CHECK_TRUST_DIRS=$H/workspace SLEEVE_CHECK_STATE_DIR=$H/state" sleeve c15 "$H" -- claude
wait_screen c15 "$PROMPT"
talk c15
N=$(requests | jq '[.[] | select(.credential == "bearer ...usok")] | length')
OTHER=$(requests | jq -c '[.[] | select(.credential == "bearer ...usok" and (.user_agent | startswith("claude-cli/") | not))]')
[ "$N" -ge 2 ] && [ "$OTHER" = "[]" ] || fail "the token reached the API other than in Claude Code's requests ($N in all): $OTHER"
LINE=$(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$USAGEOK" \
	SLEEVE_CHECK_STATE_DIR="$H/state" "$ROOT/bin/sleeve-check" health)
echo "$LINE" | grep -q '^healthy: started .*, api ok .*, 5h 12%, 7d 35%$' || fail "no usage in the health line: $LINE"
echo "  $N requests with the token, every one from claude-cli/; health: $LINE"
H=$(fresh_home c15b)
OUT=$(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$USAGEWARN" \
	SLEEVE_CHECK_STATE_DIR="$H/state" "$ROOT/bin/sleeve-check" -- true 2>&1)
echo "$OUT" | grep -q "warning: the subscription's 7-day usage is at 91%; it resets at" || fail "no warning at 91%: $OUT"
# What the probe leaves: Claude Code's own start-up files, nothing of a
# session (no transcript, history, todos, telemetry), the rest untouched.
H=$(fresh_home c15c)
mkdir -p "$H/.claude"
echo '{"operatorKey": 42, "projects": {}}' >"$H/.claude.json"
echo '{"env": {"DISABLE_AUTOUPDATER": "1"}}' >"$H/.claude/settings.json"
cp "$H/.claude/settings.json" "$E2E_TMP/settings.before"
(cd "$H" && find . -type f | sort) >"$E2E_TMP/files.before"
(cd "$H/workspace" && env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" CLAUDE_CODE_OAUTH_TOKEN="$USAGEOK" \
	SLEEVE_CHECK_STATE_DIR="$H/state" "$ROOT/bin/sleeve-check" --probe=cli >/dev/null)
NEW=$(cd "$H" && find . -type f | sort | comm -13 "$E2E_TMP/files.before" - | grep -vE '^\./\.claude/(backups|plugins)/' || true)
[ -z "$NEW" ] || fail "the probe left files behind: $NEW"
cmp -s "$H/.claude/settings.json" "$E2E_TMP/settings.before" || fail "the probe changed settings.json"
jq -e '.operatorKey == 42 and (.hasCompletedOnboarding | not)' "$H/.claude.json" >/dev/null || fail "keys lost or written: $(cat "$H/.claude.json")"
ok "only claude-cli/ sent the token; usage in the health line; the 91% warning; the probe left only Claude Code's backups/ and plugins/ and its own .claude.json keys"

echo
echo "e2e-claude: all passed (claude $VERSION)"
