#!/bin/sh
# make bench-fleet: what the probe costs a start, by credential, and what
# twelve sleeves starting together cost the host, against the loopback
# fake API with the real, pinned Claude Code CLI. With the sleeve image
# (make image, or make e2e-container, tags localhost/sleeve:e2e) it also
# times a container from podman run -it to claude's prompt. Prints a
# Markdown table for BENCHMARKS.md.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib/common.sh
. e2e/lib/podman.sh
. e2e/lib/tmux.sh
. e2e/lib/bench.sh
. e2e/lib/leftovers.sh
e2e_begin

install_packages hyperfine time jq curl tmux
make -s build >/dev/null
remove_leftovers "podman and tmux" container:bench-cli container:bench-http 'tmux:^bench-(cli|http)$'
use_claude
chmod 0755 "$E2E_TMP"
SC=$ROOT/bin/sleeve-check
N=12
TOKS=
set --
for i in $(seq 1 $N); do
	t=$(fake_token oat01 "fl$(printf %02d "$i")")
	TOKS="$TOKS $t"
	set -- "$@" -token "$t=usage_ok,reply=Hello from the fake API"
done
KEY=$(fake_token api03 flky)
start_fake "$@" -token "$KEY=valid,reply=Hello from the fake API"
TOK=$(echo $TOKS | cut -d' ' -f1)
RUNS=${RUNS:-10}

# start VAR=VALUE...: one sleeve-check -- true in a fresh home of its own.
H=$E2E_TMP/h
start() {
	env -i HOME="$H" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" SLEEVE_CHECK_STATE_DIR="$H/state" "$@" "$SC" -- true
}
# The medians through sh (median_ms without -N), for the --prepare that
# empties the home: about 1 ms more.

step "one start, fresh state each run ($RUNS runs): the probe by credential"
ENV="env -i HOME=$H PATH=$E2E_TMP/bin:/usr/bin:/bin ANTHROPIC_BASE_URL=$FAKE_URL SLEEVE_CHECK_STATE_DIR=$H/state"
T_CLI=$(median_ms cli "$RUNS" 1 --prepare "rm -rf $H; mkdir -p $H" "$ENV CLAUDE_CODE_OAUTH_TOKEN=$TOK $SC -- true")
T_HTTP=$(median_ms http "$RUNS" 1 --prepare "rm -rf $H; mkdir -p $H" "$ENV ANTHROPIC_API_KEY=$KEY $SC -- true")
rm -rf "$H" && mkdir -p "$H" && start CLAUDE_CODE_OAUTH_TOKEN="$TOK" 2>/dev/null
T_REUSE=$(median_ms reuse "$RUNS" 1 "$ENV CLAUDE_CODE_OAUTH_TOKEN=$TOK $SC -- true")
M_CLI=$(peak_mib 3 0 "$ENV CLAUDE_CODE_OAUTH_TOKEN=$TOK $SC -- true" "rm -rf $H && mkdir -p $H")
M_HTTP=$(peak_mib 3 0 "$ENV ANTHROPIC_API_KEY=$KEY $SC -- true" "rm -rf $H && mkdir -p $H")

# fleet SPLAY: twelve starts at once, each with its own token and home;
# prints "WALL_S PEAK_MIB": the wall time until the last one exits, and the
# host's memory in use at its peak above what it was before (sampled every
# 50 ms from /proc/meminfo).
fleet() {
	used() { awk '/^MemTotal/ {t=$2} /^MemAvailable/ {a=$2} END {print t-a}' /proc/meminfo; }
	sleep 5 # what the last run freed is given back first
	base=$(used)
	: >"$E2E_TMP/mem"
	(while :; do used >>"$E2E_TMP/mem"; sleep 0.05; done) &
	sampler=$!
	t0=$(date +%s%N)
	i=0 pids=
	for t in $TOKS; do
		i=$((i + 1))
		h=$E2E_TMP/fleet-$1-$i && rm -rf "$h" && mkdir -p "$h"
		env -i HOME="$h" PATH="$E2E_TMP/bin:/usr/bin:/bin" ANTHROPIC_BASE_URL="$FAKE_URL" SLEEVE_CHECK_STATE_DIR="$h/state" \
			CLAUDE_CODE_OAUTH_TOKEN="$t" SLEEVE_CHECK_PROBE_SPLAY="$1" "$SC" -- true >"$h/log" 2>&1 &
		pids="$pids $!"
	done
	fails=0
	for p in $pids; do wait "$p" || fails=$((fails + 1)); done
	t1=$(date +%s%N)
	kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
	[ "$fails" = 0 ] || { cat "$E2E_TMP"/fleet-"$1"-*/log >&2; fail "$fails of $N starts failed"; }
	peak=$(sort -n "$E2E_TMP/mem" | tail -1)
	awk -v w=$((t1 - t0)) -v p="$peak" -v b="$base" 'BEGIN { printf "%.1f %.0f", w / 1e9, (p - b) / 1024 }'
}
step "twelve starts together, subscription tokens (claude -p each)"
set -- $(fleet 0s)
F0_WALL=$1 F0_MEM=$2
set -- $(fleet 5s)
F5_WALL=$1 F5_MEM=$2

# Time to claude's prompt in a container (podman run -it in tmux).
to_prompt() {
	s=bench-$1
	shift
	t0=$(date +%s%N)
	tmux_session "$s" "$PODMAN run --rm -it --name $s --network host $RUNFLAGS -e ANTHROPIC_BASE_URL=$FAKE_URL -e SLEEVE_CHECK_PROBE_SPLAY=0s $* localhost/sleeve:e2e; sleep 600"
	wait_until -every 0.05 -show "screen $s" 30 "claude's prompt in $s" screen_has "$s" "$PROMPT"
	t1=$(date +%s%N)
	podman rm -f "$s" >/dev/null 2>&1; tmux kill-session -t "$s" 2>/dev/null || true
	awk -v w=$((t1 - t0)) 'BEGIN { printf "%.1f", w / 1e9 }'
}
C_CLI=- C_HTTP=-
if podman image exists localhost/sleeve:e2e 2>/dev/null; then
	step "time to claude's prompt in a container"
	C_CLI=$(to_prompt cli -e CLAUDE_CODE_OAUTH_TOKEN="$TOK")
	C_HTTP=$(to_prompt http -e ANTHROPIC_API_KEY="$KEY" -e SLEEVE_CHECK_APPROVE_API_KEY=true)
fi

echo
echo "Made by \`make bench-fleet\` ($(date -u +%F), $(nproc) cores, $(uname -m), claude $(cat e2e/fixtures/claude-version), the fake API on loopback)."
echo
echo "| what | wall | peak memory |"
echo "|---|---|---|"
echo "| one start, subscription token (\`auto\`: claude -p) | $(fmt "$T_CLI" 1) ms | $M_CLI MiB |"
echo "| one start, API key (\`auto\`: one HTTP request) | $(fmt "$T_HTTP" 1) ms | $M_HTTP MiB |"
echo "| a restart within the TTL of a pass (verdict reused) | $(fmt "$T_REUSE" 1) ms | |"
echo "| twelve starts together, subscription tokens, no splay | ${F0_WALL} s until the last | ${F0_MEM} MiB more on the host at the peak |"
echo "| twelve starts together, SLEEVE_CHECK_PROBE_SPLAY=5s (the image's) | ${F5_WALL} s until the last | ${F5_MEM} MiB more on the host at the peak |"
echo "| podman run -it to claude's prompt, subscription token | ${C_CLI} s | |"
echo "| podman run -it to claude's prompt, API key | ${C_HTTP} s | |"
