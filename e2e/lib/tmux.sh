# Driving programs in tmux, the real Claude Code CLI above all (sourced after
# e2e/lib/common.sh; only defines). run_tmux and talk need E2E_TMP,
# FAKE_URL and REPLY.

# claude draws its prompt as ❯ and a no-break space; releases before 2.1 as >
PROMPT='^(❯|>)'

# tmux_session NAME CMD [DIR]: CMD (in DIR) in a new detached 120x40 tmux
# session NAME, killed when the script (or the scoped case) ends.
tmux_session() {
	on_exit "tmux kill-session -t '$1' 2>/dev/null"
	if [ -n "${3:-}" ]; then
		tmux new-session -d -s "$1" -x 120 -y 40 -c "$3" "$2"
	else
		tmux new-session -d -s "$1" -x 120 -y 40 "$2"
	fi
}

# tmux_keeper NAME: a session that only keeps the tmux server up while the
# script runs. When a script kills its last session and starts the next
# one, that one can reach the server while it exits ("server exited
# unexpectedly", "no server running").
tmux_keeper() { tmux_session "$1" "sleep 100000"; }

# fresh_home NAME: an empty HOME with a workspace; prints its path.
fresh_home() { h=$E2E_TMP/$1; mkdir -p "$h/workspace"; echo "$h"; }

# run_tmux SESSION HOME CMD...: CMD in a tmux session, in HOME/workspace,
# with a clean environment plus the variables in $EXTRA_ENV. Each session
# keeps its own state, so that no start reuses another's verdict.
run_tmux() {
	s=$1 h=$2; shift 2
	# DISABLE_AUTOUPDATER=1, as the sleeve image sets it: left on, the
	# interactive claude installs a newer one into /usr/bin (npm -g).
	tmux_session "$s" "env -i HOME=$h TERM=xterm-256color LANG=C.UTF-8 PATH=$E2E_TMP/bin:/usr/bin:/bin DISABLE_AUTOUPDATER=1 ANTHROPIC_BASE_URL=$FAKE_URL SLEEVE_CHECK_STATE_DIR=$h/state ${EXTRA_ENV:-} $*; echo \"[exited \$?]\"; sleep 600" "$h/workspace"
}

screen() { tmux capture-pane -p -t "$1"; }

# screen_has SESSION REGEX: the screen matches now.
screen_has() { screen "$1" | grep -qE "$2"; }

# wait_screen SESSION REGEX [SECONDS]: until the screen matches (20 s); the
# screen when it does not.
wait_screen() {
	wait_until -show "printf '\n--- the screen of %s:\n' '$1'; screen '$1'" "${3:-20}" "/$2/ on the screen of $1" screen_has "$1" "$2"
}

# no_screen SESSION REGEX: the screen does not show REGEX.
no_screen() { if screen_has "$1" "$2"; then screen "$1" >&2; fail "$1: saw /$2/"; fi; }

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
