# Helpers for driving the real Claude Code CLI in tmux (sourced by
# e2e/claude.sh and e2e/claude-matrix.sh, after e2e/lib/common.sh, with ROOT,
# E2E_TMP, FAKE_URL and REPLY set).

SESSIONS=
cleanup_extra() { for s in $SESSIONS; do tmux kill-session -t "$s" 2>/dev/null || true; done; }

# fresh_home NAME: an empty HOME with a workspace; prints its path.
fresh_home() { h=$E2E_TMP/$1; mkdir -p "$h/workspace"; echo "$h"; }

# run_tmux SESSION HOME CMD...: CMD in a 120x40 tmux pane, in HOME/workspace,
# with a clean environment plus the variables in $EXTRA_ENV. Each session
# keeps its own state, so that no start reuses another's verdict.
run_tmux() {
	s=$1 h=$2; shift 2
	SESSIONS="$SESSIONS $s"
	tmux new-session -d -s "$s" -x 120 -y 40 -c "$h/workspace" \
		"env -i HOME=$h TERM=xterm-256color LANG=C.UTF-8 PATH=$E2E_TMP/bin:/usr/bin:/bin ANTHROPIC_BASE_URL=$FAKE_URL SLEEVE_CHECK_STATE_DIR=$h/state ${EXTRA_ENV:-} $*; echo \"[exited \$?]\"; sleep 600"
}

screen() { tmux capture-pane -p -t "$1"; }

# wait_screen SESSION REGEX [SECONDS]: until the screen matches.
wait_screen() {
	i=0 n=$(( ${3:-20} * 10 ))
	until screen "$1" | grep -qE "$2"; do
		i=$((i + 1))
		if [ $i -gt $n ]; then
			printf '\n--- the screen of %s, waiting for /%s/:\n' "$1" "$2" >&2
			screen "$1" >&2
			fail "$1: never saw /$2/"
		fi
		sleep 0.1
	done
}

# no_screen SESSION REGEX: the screen does not show REGEX.
no_screen() { if screen "$1" | grep -qE "$2"; then screen "$1" >&2; fail "$1: saw /$2/"; fi; }

# claude draws its prompt as ❯ and a no-break space; releases before 2.1 as >
PROMPT='^(❯|>)'
requests() { curl -fsS "$FAKE_URL/_fake/requests"; }
last_request() { requests | jq -c '[.[] | select(.path == "/v1/messages")] | last'; }

# sleeve SESSION HOME ARGS...: sleeve-check ARGS in a tmux pane (run_tmux).
sleeve() { s=$1 h=$2; shift 2; run_tmux "$s" "$h" "$ROOT/bin/sleeve-check" "$@"; }

# talk SESSION: at the prompt, type a message and see the fake's answer.
talk() {
	wait_screen "$1" "$PROMPT"
	# Typed, then a pause, then Enter: older releases take text and Enter
	# that arrive together for a paste, and do not send it.
	tmux send-keys -t "$1" "say hello"
	sleep 1
	tmux send-keys -t "$1" Enter
	wait_screen "$1" "● $REPLY"
}

