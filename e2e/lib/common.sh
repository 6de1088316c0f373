# What every e2e entry script shares (sourced, with ROOT set to the
# checkout). Sourcing it only defines; an entry script calls e2e_begin
# first, which makes the temporary folder and sets the one EXIT trap.
. "$ROOT/scripts/fake-token.sh"

step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# e2e_begin: E2E_TMP (a temporary folder, removed at the end) and the one
# EXIT trap, which runs the on_exit actions; INT and TERM end the script
# through it too.
e2e_begin() {
	# Every claude these scripts start on the host (and the tmux server
	# they start, whose sessions inherit it): an interactive claude left
	# to itself updates itself with npm install -g, which put a newer
	# claude in /usr/bin on this machine and broke the tests that need
	# no claude on PATH (probe_cli.txtar, claude_broken.txtar).
	export DISABLE_AUTOUPDATER=1
	E2E_TMP=$(mktemp -d)
	E2E_ON_EXIT=
	trap e2e_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	on_exit rm_tmp
}

# on_exit CMD: CMD (one line, eval'd) runs when the script ends, also on a
# failure or an interrupt; the last registered runs first. E2E_RC is then
# the script's exit status.
on_exit() {
	E2E_ON_EXIT="$1
$E2E_ON_EXIT"
}

# run_on_exit: the registered actions, last first, each whatever the others
# did; then none are left.
run_on_exit() {
	set +e
	_actions=$E2E_ON_EXIT
	E2E_ON_EXIT=
	while IFS= read -r _a <&3; do
		[ -n "$_a" ] && eval "$_a" </dev/null
	done 3<<EOF
$_actions
EOF
}

e2e_exit() {
	E2E_RC=$?
	run_on_exit
	exit $E2E_RC
}

# scoped CMD...: CMD in a subshell whose on_exit actions are its own, run
# when it ends (the script's stay for the script's end).
scoped() {
	(
		E2E_ON_EXIT=
		trap e2e_exit EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		"$@"
	)
}

# Processes killed just now (a claude in tmux) may still be writing their
# last files: rm_tmp is retried (on_exit of e2e_begin).
rm_tmp() { poll_until -every 1 5 rm -rf "$E2E_TMP" 2>/dev/null; }

# poll_until [-every S] SECONDS CMD...: runs CMD every S seconds (0.1) until
# it succeeds; returns 1 when it has not within SECONDS.
poll_until() {
	_pu_every=0.1
	[ "$1" = -every ] && { _pu_every=$2; shift 2; }
	_pu_end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$_pu_end" ] || return 1
		sleep "$_pu_every"
	done
}

# wait_until [-every S] [-show CMD] SECONDS WHAT CMD...: poll_until; when
# CMD has not succeeded within SECONDS, the output of CMD 'show' (eval'd:
# a log, a screen) on stderr, and the script fails naming WHAT.
wait_until() {
	_wu_every=0.1 _wu_show=
	while :; do
		case $1 in
		-every) _wu_every=$2; shift 2 ;;
		-show) _wu_show=$2; shift 2 ;;
		*) break ;;
		esac
	done
	_wu_s=$1 _wu_what=$2
	shift 2
	poll_until -every "$_wu_every" "$_wu_s" "$@" && return 0
	[ -n "$_wu_show" ] && eval "$_wu_show" >&2
	fail "waited ${_wu_s} s in vain for $_wu_what"
}

need_root() { [ "$(id -u)" = 0 ] || fail "run as root (podman, debootstrap)"; }

# install_packages PKG...: from Debian, only those missing.
install_packages() {
	missing=
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
	[ -z "$missing" ] && return 0
	step "apt-get install$missing"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

# start_fake ARGS...: the fake API on a loopback port; sets FAKE_URL.
start_fake() {
	"$ROOT/bin/fake-anthropic" -url-file "$E2E_TMP/url" "$@" >/dev/null 2>"$E2E_TMP/fake.log" &
	on_exit "kill $! 2>/dev/null"
	wait_until -every 0.05 5 "the fake API to start" test -s "$E2E_TMP/url"
	FAKE_URL=$(cat "$E2E_TMP/url")
}

# fake TOKEN BEHAVIOR [REPLY]: what the fake API at FAKE_URL answers TOKEN
# from now on (and with which text, for a message).
fake() {
	if [ $# -ge 3 ]; then
		curl -fsS -X POST "$FAKE_URL/_fake/tokens" -d "{\"token\":\"$1\",\"behavior\":\"$2\",\"reply\":\"$3\"}"
	else
		curl -fsS -X POST "$FAKE_URL/_fake/tokens" -d "{\"token\":\"$1\",\"behavior\":\"$2\"}"
	fi
}

# fake_answers: the fake API at FAKE_URL answers.
fake_answers() { curl -fsS "$FAKE_URL/_fake/requests" >/dev/null 2>&1; }

# log_has CLI CONTAINER TEXT: the container's log (podman or docker logs)
# has TEXT. CLI is split into words: "$PODMAN" or "$D".
log_has() { $1 logs "$2" 2>&1 | grep -qF "$3"; }

# wait_log CLI CONTAINER TEXT [SECONDS]: until the log has TEXT (10 s); the
# log when it does not.
wait_log() {
	wait_until -show "$1 logs $2" "${4:-10}" "\"$3\" in the log of $2" log_has "$1" "$2" "$3"
}

# state_is CLI CONTAINER FORMAT WANT: inspect --format FORMAT gives WANT.
state_is() { [ "$($1 inspect "$2" --format "$3" 2>/dev/null)" = "$4" ]; }

# use_claude [VERSION]: the Claude Code CLI of VERSION (the pinned one by
# default) first in PATH ($E2E_TMP/bin/claude); sets CLAUDE to it. Other
# users (a sleeve user) can run it.
use_claude() {
	_v=${1:-$(cat "$ROOT/e2e/fixtures/claude-version")}
	CLAUDE=$(CLAUDE_VERSION=$_v "$ROOT/e2e/tools/install-claude.sh")
	rm -rf "$E2E_TMP/bin" && mkdir -p "$E2E_TMP/bin" && ln -s "$CLAUDE" "$E2E_TMP/bin/claude"
	# Each folder up to it, and for a cli.js release, node must read it.
	d=$CLAUDE; while [ "$d" != / ]; do d=$(dirname "$d"); chmod o+rx "$d" 2>/dev/null || true; done
	chmod -R o+rX "$ROOT/.cache/claude-code-$_v" 2>/dev/null || true
}
