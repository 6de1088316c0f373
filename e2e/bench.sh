#!/bin/sh
# make bench: what sleeve-check costs, side by side with the alternatives,
# in one run on this machine. Prints one table and writes BENCHMARKS.md.
# Wall times are hyperfine medians; peak memory is GNU time's maximum
# resident set size of the whole command (children included, the largest
# process counted), the highest of several runs.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib/common.sh
. e2e/lib/bench.sh
e2e_begin

install_packages hyperfine time jq curl
make -s build >/dev/null
use_claude
SC=$ROOT/bin/sleeve-check
TOK=$(fake_token oat01 bench-bnch)
start_fake -token "$TOK=valid"
H=$E2E_TMP/home
mkdir -p "$H/ws" "$H/tmp"
cd "$H/ws"
# A TMPDIR of its own: health reads the newest state in every
# $TMPDIR/sleeve-check-*, and a state another run left in /tmp (a test on
# the same machine) would be judged instead of this one.
export HOME="$H" CLAUDE_CODE_OAUTH_TOKEN="$TOK" ANTHROPIC_BASE_URL="$FAKE_URL" SLEEVE_CHECK_STATE_DIR="$H/state" PATH="$E2E_TMP/bin:$PATH" TMPDIR="$H/tmp"
# Warm: the config flag and the state exist, as in a sleeve's steady state.
"$SC" -- true 2>/dev/null
RUNS=${RUNS:-100}
SLOW_RUNS=${SLOW_RUNS:-10}
PAIRS=${PAIRS:-200}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

step "timing (hyperfine medians; $RUNS runs, $SLOW_RUNS for the claude CLI)"
T_TRUE=$(median_ms -N true "$RUNS" 3 true)
T_ENTRY=$(median_ms -N entry "$RUNS" 3 "$SC --probe=off -- true")
T_SHELL=$(median_ms -N shell "$RUNS" 3 "$ROOT/e2e/fixtures/shell-entrypoint.sh true")
T_HEALTH=$(median_ms -N health "$RUNS" 3 "$SC health")
T_HTTP=$(median_ms -N http "$RUNS" 3 "$SC --probe=http")
T_AUTH=$(median_ms -N auth "$SLOW_RUNS" 3 "claude auth status")
T_CLIP=$(median_ms -N clip "$SLOW_RUNS" 3 "claude -p . --max-turns 1 --output-format json --no-session-persistence --tools ''")
T_CLI=$(median_ms -N cli "$SLOW_RUNS" 3 "$SC --probe=cli")

# The floor: a static Go binary that only execs /bin/true, built here with
# the same toolchain and flags, so the ratios below are what sleeve-check
# itself adds to a process start. pair runs the three side by side.
step "start-up against the floor (paired runs, $PAIRS rounds)"
mkdir -p "$E2E_TMP/floor"
cat >"$E2E_TMP/floor/main.go" <<'FLOOR'
package main

import (
	"os"
	"syscall"
)

func main() { syscall.Exec("/bin/true", []string{"true"}, os.Environ()) }
FLOOR
printf 'module floor\ngo 1.26\n' >"$E2E_TMP/floor/go.mod"
(cd "$E2E_TMP/floor" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o floor .)
(cd "$ROOT" && go build -o "$E2E_TMP/pair" ./e2e/tools/pair)
"$E2E_TMP/pair" -n "$PAIRS" "$E2E_TMP/floor/floor" "$SC --probe=off -- /bin/true" "$SC health" >"$E2E_TMP/pair.tsv"
cat "$E2E_TMP/pair.tsv"
pair_row() { awk -F'\t' -v n="$1" 'NR == n { printf "%.2f ms (p10 %.2f, p90 %.2f) | %.2fx (p10 %.2f, p90 %.2f)", $2, $3, $4, $5, $6, $7 }' "$E2E_TMP/pair.tsv"; }

step "peak memory (GNU time, max RSS of 5 runs)"
M_ENTRY=$(peak_mib 5 1 "$SC --probe=off -- true")
M_SHELL=$(peak_mib 5 1 "$ROOT/e2e/fixtures/shell-entrypoint.sh true")
M_HEALTH=$(peak_mib 5 1 "$SC health")
M_HTTP=$(peak_mib 5 1 "$SC --probe=http")
M_AUTH=$(peak_mib 5 1 "claude auth status")
M_CLIP=$(peak_mib 5 1 "claude -p . --max-turns 1 --output-format json --no-session-persistence --tools \"''\"")
M_CLI=$(peak_mib 5 1 "$SC --probe=cli")
SIZE=$(awk -v b="$(stat -c %s "$SC")" 'BEGIN { printf "%.1f", b / 1048576 }')
CSIZE=$(awk -v b="$(stat -c %s "$CLAUDE")" 'BEGIN { printf "%.0f", b / 1048576 }')
OVER=$(awk -v a="$T_ENTRY" -v b="$T_TRUE" 'BEGIN { printf "%.2f", a - b }')
SOVER=$(awk -v a="$T_SHELL" -v b="$T_TRUE" 'BEGIN { printf "%.2f", a - b }')

OUT=$ROOT/BENCHMARKS.md
# The sections after this table (## ..., from make bench-fleet and the
# image runs) are kept as they are.
REST=$(awk '/^## /{f=1} f' "$OUT" 2>/dev/null || true)
{
	echo "# Benchmarks"
	echo
	echo "Made by \`make bench\` ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), claude $(cat "$ROOT/e2e/fixtures/claude-version"), the fake API on loopback)."
	echo "Wall time: hyperfine median of $RUNS runs ($SLOW_RUNS for the claude CLI). Peak memory: max RSS, highest of 5 runs."
	echo "Every row was measured in the same run; ratios compare rows of this table only."
	echo
	echo "| what | median wall | peak RSS | compared with |"
	echo "|---|---|---|---|"
	echo "| \`true\` (fork + exec floor) | $(fmt "$T_TRUE" 2) ms | - | |"
	echo "| \`sleeve-check --probe=off -- true\` (entrypoint) | $(fmt "$T_ENTRY" 2) ms | $M_ENTRY MiB | overhead over \`true\`: $OVER ms |"
	echo "| shell entrypoint: token check + jq flag + exec | $(fmt "$T_SHELL" 2) ms | $M_SHELL MiB | overhead over \`true\`: $SOVER ms; sleeve-check is $(ratio "$T_SHELL" "$T_ENTRY") faster |"
	echo "| \`sleeve-check health\` (fresh cached verdict) | $(fmt "$T_HEALTH" 2) ms | $M_HEALTH MiB | |"
	echo "| \`claude auth status\` (presence only) | $(fmt "$T_AUTH" 2) ms | $M_AUTH MiB | health is $(ratio "$T_AUTH" "$T_HEALTH") faster, $(ratio "$M_AUTH" "$M_HEALTH") less memory |"
	echo "| \`claude -p\` probe | $(fmt "$T_CLIP" 2) ms | $M_CLIP MiB | health is $(ratio "$T_CLIP" "$T_HEALTH") faster, $(ratio "$M_CLIP" "$M_HEALTH") less memory |"
	echo "| \`sleeve-check --probe=http\` (report mode) | $(fmt "$T_HTTP" 2) ms | $M_HTTP MiB | |"
	echo "| \`sleeve-check --probe=cli\` (report mode) | $(fmt "$T_CLI" 2) ms | $M_CLI MiB | the http probe is $(ratio "$T_CLI" "$T_HTTP") faster, $(ratio "$M_CLI" "$M_HTTP") less memory |"
	echo "| binary size | sleeve-check $SIZE MiB | | the claude binary: $CSIZE MiB |"
	echo
	echo "Targets: entrypoint overhead under 5 ms; health under 5 ms and 15 MB; each at least 50x cheaper than the CLI-based alternative."
	echo
	echo "Against the floor, a static Go binary that only execs \`/bin/true\` (built by the benchmark): $PAIRS rounds, each command once per round in turn; the ratio is to the floor's time in the same round."
	echo
	echo "| command | median wall (spread) | ratio to the floor (spread) |"
	echo "|---|---|---|"
	echo "| floor | $(pair_row 1) |"
	echo "| \`sleeve-check --probe=off -- /bin/true\` | $(pair_row 2) |"
	echo "| \`sleeve-check health\` | $(pair_row 3) |"
	echo
	echo "Targets (issue 29): the start at most 2x the floor, health at most 1.5x."
	if [ -n "$REST" ]; then
		echo
		printf '%s\n' "$REST"
	fi
} >"$OUT"
cat "$OUT"
