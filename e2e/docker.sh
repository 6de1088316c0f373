#!/bin/sh
# make e2e-docker: the sleeve image on the Docker engine (Debian's docker.io),
# as users run it: docker build with BuildKit from the checkout, the
# README's lines, docker run -it in tmux to claude's prompt, docker run
# without -t, docker stop during a waiting probe, a quoted token, health
# run by Docker's own scheduler, compose v2 with three sleeves, and the
# restart policy of deploy/compose.yaml.
#
# A private dockerd: its own data root (/var/cache/sleeve-check-e2e/docker, kept so that a warm
# run reuses its images and build cache), exec root, socket and pidfile;
# never the system's socket. Every container, network and volume is
# removed and the daemon stopped at the end, also on failure. Traffic
# stays on loopback: the containers use the host's network, and the fake
# API listens on 127.0.0.1.
#
# The client is Debian's /usr/bin/docker (20.10) with DOCKER_BUILDKIT=1: the
# builder a Debian or Ubuntu docker.io user has, BuildKit built in. (The
# buildx plugin would add a build of its module for nothing more here; a
# newer client uses BuildKit by default.)
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
T_START=$(date +%s)
. e2e/lib/common.sh
. e2e/lib/tmux.sh
. e2e/lib/dockerd.sh
. e2e/lib/leftovers.sh
e2e_begin
engine_prepare
remove_leftovers tmux 'tmux:^dk[19]$'
start_dockerd
remove_leftovers "the engine" docker-container:dk1 docker-container:dk2 docker-container:dk3 docker-container:dk5 docker-container:dk8 docker-container:dk9 docker-container:gateway docker-network:gatewaynet \
	docker-container:sleeves-sleeve-1-1 docker-container:sleeves-sleeve-2-1 docker-container:sleeves-sleeve-3-1 docker-network:sleeves_default

step "the compose v2 plugin, built from its Go module (cached in .cache/)"
ln -sf "$(./e2e/tools/docker-compose-plugin.sh)/docker-compose" "$DOCKER_CONFIG/cli-plugins/docker-compose"
COMPOSE_VERSION=$($D compose version --short)
ok "docker compose $COMPOSE_VERSION"

base_images

step "docker build -f Dockerfile.sleeve with BuildKit: both targets, from the checkout"
T0=$(date +%s)
build_target sleeve-check localhost/sleeve-check:e2e
build_target sleeve localhost/sleeve:e2e
IMAGE=localhost/sleeve:e2e
$D run --rm --entrypoint claude "$IMAGE" --version | grep -q "^$(cat e2e/fixtures/claude-version) (Claude Code)" || fail "claude --version in the image"
$D run --rm --entrypoint sleeve-check "$IMAGE" --version | grep -q "^sleeve-check e2e (commit " || fail "sleeve-check --version in the image"
$D run --rm localhost/sleeve-check:e2e --version | grep -q "^sleeve-check e2e (commit " || fail "sleeve-check --version in the FROM scratch image"
$D run --rm --entrypoint sh "$IMAGE" -c 'ls /run/secrets 2>/dev/null; grep -rl "BEGIN CERT" /run/secrets 2>/dev/null' | grep -q . &&
	fail "the CA secret is in the image" || true
SIZES="sleeve $(($($D image inspect "$IMAGE" --format '{{.Size}}') / 1048576)) MiB, sleeve-check $(($($D image inspect localhost/sleeve-check:e2e --format '{{.Size}}') / 1048576)) MiB"
ok "built in $(($(date +%s) - T0)) s ($SIZES); claude --version and sleeve-check --version run; no CA in the image"

step "the README's 'Adding it to an image' Dockerfile lines, built on the engine"
USERIMG=$E2E_TMP/user-image
mkdir -p "$USERIMG"
{
	echo "FROM localhost/sleeve-base:bookworm-dtach"
	echo "RUN useradd --create-home --uid 1000 --user-group agent && mkdir -p /home/agent/workspace && chown agent:agent /home/agent/workspace"
	echo "COPY --from=$IMAGE /usr/local/bin/claude /usr/local/bin/claude"
	# The README's block, as written, with the image tag of this run.
	awk '/^```dockerfile$/ { f = 1; next } f && /^```$/ { exit } f' README.md | sed 's|sleeve-check:<version>|localhost/sleeve-check:e2e|'
	echo "USER agent"
	echo "WORKDIR /home/agent/workspace"
} >"$USERIMG/Dockerfile"
grep -q '^HEALTHCHECK' "$USERIMG/Dockerfile" && grep -q '^COPY --from=localhost/sleeve-check:e2e /sleeve-check' "$USERIMG/Dockerfile" || fail "the README's Dockerfile block was not found"
$D build -q --network host -t localhost/sleeve-user:e2e "$USERIMG" >/dev/null || fail "the README's Dockerfile lines do not build"
ok "FROM a Debian base + the README's lines: built"

REPLY="Hello from the fake API"
GOOD=$(fake_token oat01 dk-good)
SLOW=$(fake_token oat01 dk-slow)
QUOTED=$(fake_token oat01 dk-quot)
HTOK=$(fake_token oat01 dk-hlth)
start_fake -token "$GOOD=valid,reply=$REPLY" -token "$SLOW=valid,delay=60" -token "$QUOTED=valid" -token "$HTOK=valid,delay=4"
state() { $D inspect "$1" --format "$2"; }
# nocolor: a terminal's log without its colours.
nocolor() { sed 's/\x1b\[[0-9;]*m//g'; }

step "1. docker run -it in tmux (the README's line, the README's image): claude's prompt, bypass mode, as agent"
tmux_session dk1 "CLAUDE_CODE_OAUTH_TOKEN=$GOOD $D run -it --rm --name dk1 --network host -e CLAUDE_CODE_OAUTH_TOKEN -e ANTHROPIC_BASE_URL=$FAKE_URL -e SLEEVE_CHECK_STATE_DIR=/tmp/sc localhost/sleeve-user:e2e; echo \"[exited \$?]\"; sleep 600"
talk dk1
screen dk1 | grep -qi 'bypass permissions on' || { screen dk1 >&2; fail "claude is not in bypass mode"; }
# docker top names users as the host does: uid 1000 is agent in the image.
$D top dk1 -eo pid,uid,args | grep -q '^ *[0-9]* *1000 *claude --dangerously-skip-permissions' || fail "claude does not run as agent (uid 1000): $($D top dk1 -eo pid,uid,args)"
screen dk1 | grep -q "$GOOD" && fail "the token is on the screen" || true
ok "the prompt, bypass mode on, claude as agent, the fake's answer on screen"
tmux kill-session -t dk1; $D rm -f dk1 >/dev/null 2>&1 || true

step "2. docker run without -t: exit 3 before claude, and docker logs has the hint"
$D run -d --name dk2 --network host -e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" -e SLEEVE_CHECK_PROBE_SPLAY=0s "$IMAGE" >/dev/null
[ "$($D wait dk2)" = 3 ] || fail "exit $(state dk2 '{{.State.ExitCode}}') without -t, want 3"
LOG=$($D logs dk2 2>&1)
echo "$LOG" | grep -q 'error: claude (standard output is not a terminal, so it runs in print mode) has no prompt' || fail "no reason in docker logs: $LOG"
echo "$LOG" | grep -q 'hint: give the sleeve a terminal: docker run -it' || fail "no hint in docker logs: $LOG"
ok "exit 3; docker logs: $(echo "$LOG" | grep hint)"

step "3. docker stop during a probe that waits: 143 at once"
$D run -dit --name dk3 --network host -e CLAUDE_CODE_OAUTH_TOKEN="$SLOW" -e ANTHROPIC_BASE_URL="$FAKE_URL" -e SLEEVE_CHECK_PROBE_SPLAY=0s "$IMAGE" >/dev/null
wait_log "$D" dk3 'still waiting for the probe' 20
PROGRESS=$($D logs dk3 2>&1 | grep 'still waiting')
T0=$(date +%s%N)
$D stop -t 10 dk3 >/dev/null
MS=$((($(date +%s%N) - T0) / 1000000))
[ "$(state dk3 '{{.State.ExitCode}}')" = 143 ] || fail "exit $(state dk3 '{{.State.ExitCode}}') after docker stop, want 143"
[ "$MS" -lt 5000 ] || fail "docker stop took $MS ms"
$D logs dk3 2>&1 | grep -q 'stopped by SIGTERM before the command was started' || fail "no stop line: $($D logs dk3 2>&1)"
ok "exit 143 in $MS ms; while it waited, docker logs said: $PROGRESS"

step "4. -e CLAUDE_CODE_OAUTH_TOKEN with quotes: exit 5, and it says so"
set +e
OUT=$($D run --rm --network host -e CLAUDE_CODE_OAUTH_TOKEN="\"$QUOTED\"" -e ANTHROPIC_BASE_URL="$FAKE_URL" "$IMAGE" 2>&1)
rc=$?
set -e
[ "$rc" = 5 ] || fail "exit $rc for a quoted token, want 5: $OUT"
echo "$OUT" | grep -q 'error: CLAUDE_CODE_OAUTH_TOKEN is wrapped in quotes' || fail "no reason: $OUT"
echo "$OUT" | grep -qF "$QUOTED" && fail "the token is in the output" || true
ok "$(echo "$OUT" | grep error)"

step "5. health run by Docker's own scheduler: starting during the start, healthy, unhealthy after a revocation"
# The image's HEALTHCHECK, at a 2 s interval so the test takes seconds; a
# probe that takes 4 s (the fake's delay) keeps the start in its probe step.
# With a 1 s TTL each check finds the verdict stale and probes again: its
# deadline (5 s by default) must outlast the fake's 4 s plus claude's own
# start (seconds, more on a loaded machine), and Docker's timeout for the
# check (10 s in the image) that deadline, or a check fails for a reason
# this step is not about.
$D run -dit --name dk5 --network host -e CLAUDE_CODE_OAUTH_TOKEN="$HTOK" -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s -e SLEEVE_CHECK_HEALTH_TTL=1s -e SLEEVE_CHECK_HEALTH_PROBE_TIMEOUT=20s \
	--health-interval 2s --health-retries 3 --health-start-period 30s --health-timeout 30s "$IMAGE" >/dev/null
wait_until -show "$D inspect dk5 --format '{{json .State.Health}}'" 30 "dk5 to be healthy" state_is "$D" dk5 '{{.State.Health.Status}}' healthy
HLOG=$($D inspect dk5 --format '{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{"\n"}}{{end}}' | grep -v '^$')
echo "$HLOG" | grep -q '^1 starting: the probe.s answer' || fail "no 'starting:' check during the start: $HLOG"
echo "$HLOG" | grep -q 'hasCompletedOnboarding' && fail "a false reason during the start: $HLOG"
echo "$HLOG" | grep -q '^0 healthy: ' || fail "no healthy check: $HLOG"
ok "starting -> healthy: $(echo "$HLOG" | grep '^1 starting' | head -1 | cut -c3-)"
fake "$HTOK" revoked
T0=$(date +%s)
wait_until -show "$D inspect dk5 --format '{{json .State.Health}}'" 20 "dk5 to be unhealthy" state_is "$D" dk5 '{{.State.Health.Status}}' unhealthy
S=$(($(date +%s) - T0))
# interval x retries, plus the check that still finds the cached pass (1 s
# TTL), plus a claude -p per failing check: a generous bound, the number
# is reported.
[ "$S" -le 15 ] || fail "unhealthy after $S s, want within 2 s x 3 (+ one check, the TTL and the probes)"
LAST=$($D inspect dk5 --format '{{range .State.Health.Log}}{{.Output}}{{"\n"}}{{end}}' | grep -v '^$' | tail -1)
echo "$LAST" | grep -q '^unhealthy: the credential has been revoked' || fail "health line: $LAST"
MAX=$($D inspect dk5 --format '{{range .State.Health.Log}}{{len .Output}} {{end}}' | tr ' ' '\n' | sort -n | tail -1)
[ "$MAX" -lt 4096 ] || fail "a health log entry has $MAX bytes"
$D inspect dk5 --format '{{json .State.Health}}' | grep -qF "$HTOK" && fail "the token is in the health log" || true
ok "unhealthy $S s after the revocation: $LAST (longest entry $MAX bytes)"
$D rm -f dk5 >/dev/null

# free_port: a loopback port nothing listens on (the fake's, once it ended).
free_port() {
	"$ROOT/bin/fake-anthropic" -url-file "$E2E_TMP/free.url" >/dev/null 2>&1 &
	_fp=$!
	poll_until 5 test -s "$E2E_TMP/free.url"
	kill "$_fp"; wait "$_fp" 2>/dev/null || true
	sed 's/.*://' "$E2E_TMP/free.url"; rm -f "$E2E_TMP/free.url"
}

step "5a. the default probe (claude -p) while the API is down: each retry is a line in docker logs"
DOWN_PORT=$(free_port)
$D run -dit --name dk8 --network host -e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="http://127.0.0.1:$DOWN_PORT" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s "$IMAGE" >/dev/null
wait_log "$D" dk8 'trying again in' 30
ATTEMPT=$($D logs dk8 2>&1 | nocolor | grep 'probe attempt [0-9]*: .*trying again in' | head -1) || fail "no 'probe attempt N: ...; trying again' line: $($D logs dk8 2>&1)"
ok "while claude -p found the API down, docker logs said: $ATTEMPT"
$D rm -f dk8 >/dev/null

step "5b. a plain-http gateway on the sleeves' own network, by name (not loopback): the start warns, and claude works through it"
GWCTX=$E2E_TMP/gateway-image
mkdir -p "$GWCTX"
cp bin/fake-anthropic "$GWCTX/"
GWTOK=$(fake_token oat01 dk-gway)
# The first container on the first network is where the daemon sends the
# containers' outside names (lib/dockerd.sh): it refuses them at once.
printf 'FROM scratch\nCOPY fake-anthropic /fake-anthropic\nENTRYPOINT ["/fake-anthropic", "-in-container", "-addr", "0.0.0.0:8080", "-refuse-dns", "0.0.0.0:53", "-token", "%s=valid,reply=%s"]\n' "$GWTOK" "$REPLY" >"$GWCTX/Dockerfile"
$D build -q -t localhost/fake-gateway:e2e "$GWCTX" >/dev/null
$D network create gatewaynet >/dev/null
$D run -d --name gateway --network gatewaynet localhost/fake-gateway:e2e >/dev/null
GW_IP=$($D inspect gateway --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
[ "$GW_IP" = 172.30.0.2 ] || fail "the gateway is at $GW_IP, not 172.30.0.2 (the daemon's --dns)"
gw_requests() { curl -fsS "http://$GW_IP:8080/_fake/requests"; }
wait_until 10 "the gateway to answer" gw_requests
tmux_session dk9 "$D run -it --rm --name dk9 --network gatewaynet -e CLAUDE_CODE_OAUTH_TOKEN=$GWTOK -e ANTHROPIC_BASE_URL=http://gateway:8080 -e SLEEVE_CHECK_PROBE_SPLAY=0s localhost/sleeve-user:e2e; echo \"[exited \$?]\"; sleep 600"
talk dk9
wait_log "$D" dk9 'is plain http to "gateway:8080", not a loopback address' 5
GWWARN=$($D logs dk9 2>&1 | nocolor | grep 'not a loopback address' | head -1)
N=$(gw_requests | jq '[.[] | select(.path == "/v1/messages")] | length')
[ "$N" -ge 2 ] || fail "the gateway saw $N messages, want the probe's and claude's"
ok "$GWWARN; claude answered through http://gateway:8080 ($N messages there)"
tmux kill-session -t dk9; $D rm -f dk9 gateway >/dev/null 2>&1 || true
$D network rm gatewaynet >/dev/null

step "6. compose v2: deploy/compose.yaml, three sleeves, each with its own token file: all healthy"
COMPOSE=$E2E_TMP/compose
mkdir -p "$COMPOSE"
cp deploy/compose.yaml "$COMPOSE/compose.yaml"
for n in 1 2 3; do
	tok=$(fake_token oat01 "dk-cmp$n")
	fake "$tok" valid
	printf '%s\n' "$tok" >"$COMPOSE/claude_token_$n.txt"
	mkdir -p "$COMPOSE/work/$n" && chmod 0777 "$COMPOSE/work/$n"
done
chmod 0644 "$COMPOSE"/claude_token_*.txt
# The file as written, plus the fake API on the host's loopback and a
# short health interval.
cat >"$COMPOSE/e2e.yaml" <<EOF
x-e2e: &e2e
  network_mode: host
  environment:
    ANTHROPIC_BASE_URL: "$FAKE_URL"
  healthcheck:
    interval: 2s
services:
  sleeve-1: *e2e
  sleeve-2: *e2e
  sleeve-3: *e2e
EOF
docker_compose() { (cd "$COMPOSE" && SLEEVE_IMAGE=$IMAGE $D compose -p sleeves -f compose.yaml -f e2e.yaml "$@"); }
docker_compose up -d >"$E2E_TMP/compose.log" 2>&1 || { cat "$E2E_TMP/compose.log" >&2; fail "docker compose up failed"; }
for n in 1 2 3; do
	c=sleeves-sleeve-$n-1
	wait_until -show "$D logs $c" 40 "$c to be healthy" state_is "$D" "$c" '{{.State.Health.Status}}' healthy
	$D logs "$c" 2>&1 | grep -q 'ok: oauth_token from CLAUDE_CODE_OAUTH_TOKEN_FILE' || fail "$c did not use its token file"
done
docker_compose ps
ok "three sleeves up and healthy, each with its own token file"

step "7. the restart policy: a cause a restart cannot fix stops after the bounded retries; an outage heals in place"
fake "$(fake_token oat01 dk-cmp2)" revoked
BEFORE=$(curl -fsS "$FAKE_URL/_fake/requests" | jq length)
# A new start (recreated, so Docker's restart count starts at 0).
docker_compose up -d --force-recreate sleeve-2 >/dev/null 2>&1
wait_until -show "state sleeves-sleeve-2-1 '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}'" 60 "sleeve-2 to be exited after 3 restarts" \
	state_is "$D" sleeves-sleeve-2-1 '{{.State.Status}} {{.RestartCount}}' "exited 3"
sleep 3
[ "$(state sleeves-sleeve-2-1 '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}')" = "exited 3 6" ] ||
	fail "sleeve-2 after a revocation: $(state sleeves-sleeve-2-1 '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}')"
PROBES=$(($(curl -fsS "$FAKE_URL/_fake/requests" | jq length) - BEFORE))
ok "a revoked token: exit 6, restarted 3 times (on-failure:3), then left exited; $PROBES requests in all"
# An outage: the API overloaded while sleeve-3 restarts, back 8 s later.
TOK3=$(fake_token oat01 dk-cmp3)
fake "$TOK3" overloaded
docker_compose up -d --force-recreate sleeve-3 >/dev/null 2>&1
wait_log "$D" sleeves-sleeve-3-1 'probing again in' 30
WAITLINE=$($D logs sleeves-sleeve-3-1 2>&1 | nocolor | grep 'probing again in' | tail -1)
sleep 2
HL=$($D exec sleeves-sleeve-3-1 sleeve-check health || true)
echo "$HL" | grep -q '^healthy (warning): waiting for the API' || fail "health while waiting for the API: $HL"
fake "$TOK3" valid
recovered() { state_is "$D" sleeves-sleeve-3-1 '{{.State.Health.Status}}' healthy && log_has "$D" sleeves-sleeve-3-1 'ok: oauth_token'; }
wait_until -show "$D logs sleeves-sleeve-3-1" 60 "sleeve-3 to recover (healthy, the credential checked)" recovered
[ "$(state sleeves-sleeve-3-1 '{{.RestartCount}}')" = 0 ] || fail "sleeve-3 was restarted by Docker instead of waiting"
ok "an overloaded API: the sleeve waited in place ($WAITLINE), health said '$HL', and it started with no restart"
# The API down (connection refused) as sleeve-3 starts, with the default
# probe; up on the same address about 8 s later. A probe deadline shorter
# than the outage (4 s, not 20 s) makes the probe give up while the API is
# still down, so the start's wait policy (SLEEVE_CHECK_ON_UNAVAILABLE=wait
# of compose.yaml) must take over: the class of a refused connection.
DOWN_PORT=$(free_port)
printf 'services:\n  sleeve-3:\n    environment:\n      ANTHROPIC_BASE_URL: "http://127.0.0.1:%s"\n      SLEEVE_CHECK_PROBE_TIMEOUT: 4s\n' "$DOWN_PORT" >"$COMPOSE/e2e-down.yaml"
T0=$(date +%s)
(cd "$COMPOSE" && SLEEVE_IMAGE=$IMAGE $D compose -p sleeves -f compose.yaml -f e2e.yaml -f e2e-down.yaml up -d --force-recreate sleeve-3) >/dev/null 2>&1
sleep 8
"$ROOT/bin/fake-anthropic" -addr "127.0.0.1:$DOWN_PORT" -token "$TOK3=valid" >/dev/null 2>"$E2E_TMP/fake-back.log" &
on_exit "kill $! 2>/dev/null"
ok_count() { $D logs sleeves-sleeve-3-1 2>&1 | grep -c 'ok: oauth_token' || true; }
OKS=$(ok_count)
recovered_down() { state_is "$D" sleeves-sleeve-3-1 '{{.State.Health.Status}}' healthy && [ "$(ok_count)" -gt "$OKS" ]; }
wait_until -show "$D logs sleeves-sleeve-3-1; state sleeves-sleeve-3-1 '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}'" 82 \
	"sleeve-3 to recover within 90 s of an API that was down for 8 s" recovered_down
S=$(($(date +%s) - T0))
DOWNLOG=$($D logs sleeves-sleeve-3-1 2>&1 | nocolor)
echo "$DOWNLOG" | grep -q 'the API is unreachable (.*Connection refused.*); probing again in' || fail "the refused connection was not waited out: $DOWNLOG"
[ "$(state sleeves-sleeve-3-1 '{{.RestartCount}}')" = 0 ] || fail "sleeve-3 was restarted by Docker instead of waiting: $DOWNLOG"
ok "the API down for 8 s: sleeve-3 healthy after $S s with no restart; it said: $(echo "$DOWNLOG" | grep 'probing again in' | head -1)"
docker_compose down -v >/dev/null 2>&1

T_ALL=$(($(date +%s) - T_START))
echo
echo "e2e-docker: all passed in $T_ALL s (engine $ENGINE, client $CLIENT, compose $COMPOSE_VERSION)"
