#!/bin/sh
# make e2e-claude-matrix: the unattended-start cases (CLAUDE_CASES in
# e2e/lib/claude-cases.sh, which says what each proves) against every
# Claude Code release in e2e/fixtures/claude-releases (or those in
# MATRIX_RELEASES), each in tmux against the fake API, and a table of
# release x case at the end.
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
remove_leftovers tmux 'tmux:^matrix-keeper$|^m[0-9]+-[a-z]+$'
RELEASES=${MATRIX_RELEASES:-$(grep -v '^#' e2e/fixtures/claude-releases | awk 'NF {print $1}')}
GOOD=$(fake_token oat01 good)
REPLY="Hello from the fake API"
USAGEOK=$(fake_token oat01 usok)
start_fake -token "$GOOD=valid,reply=$REPLY" -token "$USAGEOK=usage_ok"
chmod 0755 "$E2E_TMP"
# Each case's sessions end with it (seen once: "no server running").
tmux_keeper matrix-keeper
# Every release updates itself unless told not to (README, Claude Code releases).
CASE_ENV=DISABLE_AUTOUPDATER=1

TABLE="| release | $(echo $CLAUDE_CASES | sed 's/ / | /g') |"
TABLE="$TABLE
|---|$(for _ in $CLAUDE_CASES; do printf -- '---|'; done)"
failed=0
for RELEASE in $RELEASES; do
	step "Claude Code $RELEASE"
	use_claude "$RELEASE"
	echo "claude: $("$E2E_TMP/bin/claude" --version)"
	row="| $RELEASE |"
	for c in $CLAUDE_CASES; do
		s=$(echo "m$RELEASE" | tr -d .)-$c
		# Each case in a subshell: its tmux sessions end with it.
		if scoped "case_$c" "$s" >"$E2E_TMP/$s.log" 2>&1; then
			row="$row ok |"; ok "$RELEASE $c"
		else
			row="$row FAIL |"; failed=1
			printf 'FAIL: %s %s\n' "$RELEASE" "$c"; sed 's/^/    /' "$E2E_TMP/$s.log" | tail -25
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
