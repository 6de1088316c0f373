#!/bin/sh
# make e2e-gateway: deploy/gateway/compose.yaml on the Docker engine (the
# private dockerd of e2e/lib/dockerd.sh, compose v2), with the real Claude
# Code CLI: one credential gateway holds the fleet's token, three sleeves
# hold only keys of their own. The operator's files are made as the
# file's comment says (the keys by `docker compose run gateway key NAME`).
# It asserts that
#   1. claude answers in each sleeve (its screen, attached as a person
#      would), through the gateway: the fake API saw only the fleet token,
#      only from Claude Code, and the gateway's /status shows each sleeve;
#      the sleeves are on the internal network only, where the API's name
#      does not resolve;
#   2. the three sleeves, started together behind a fresh gateway, cost
#      at most two inference requests before any prompt is sent (the
#      gateway's one probe; the file turns off claude's non-essential
#      traffic, without which each claude's start sends a "quota" request);
#   3. a hunt in a sleeve, as agent and as root (every readable
#      /proc/*/environ and cmdline, every readable file), finds no fleet
#      token, no part of it, no gateway secret and no other sleeve's key;
#   4. a revoked name: that sleeve's health (its own and Docker's) turns
#      unhealthy within seconds, the others stay healthy and claude still
#      answers in sleeve 1; a restart of the revoked one exits 6; off the
#      list again, it starts;
#   5. docker stop of the gateway turns the sleeves unhealthy ("gateway ...
#      unreachable") and docker start heals them, with no restart of a
#      sleeve;
#   6. the gateway drains a request in flight on docker stop and exits 0;
#   7. no secret in any docker logs or docker inspect (health logs).
#
# The API is the fake, in a container on a network of its own (gw-api,
# created first so that the fake is the daemon's --dns, which refuses every
# outside name at once): the file's `egress` network is that one here. The
# gateway joins it and the file's internal `sleeves` network; the sleeves
# join only `sleeves`. Everything is removed at the end, also on failure.
# The image is e2e-docker's (the same tag and build): right after it, the
# build is BuildKit's cache.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
T_START=$(date +%s)
. e2e/lib/common.sh
. e2e/lib/tmux.sh
. e2e/lib/dockerd.sh
. e2e/lib/leftovers.sh
# Each step's time, on its ok line.
T_STEP=$(date +%s%N)
step() { T_STEP=$(date +%s%N); printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s [%s s]\n' "$*" "$(echo "$T_STEP $(date +%s%N)" | awk '{ printf "%.1f", ($2 - $1) / 1e9 }')"; }
e2e_begin
engine_prepare
remove_leftovers tmux 'tmux:^gw-(keeper|[123])$'
start_dockerd
P=gwe2e
GW=$P-gateway-1
S1=$P-sleeve-1-1 S2=$P-sleeve-2-1 S3=$P-sleeve-3-1
remove_leftovers "the engine" docker-container:gw-fake docker-container:$GW docker-container:$S1 docker-container:$S2 docker-container:$S3 \
	docker-network:${P}_sleeves docker-network:${P}_egress docker-network:gw-api
# On a failure, the containers' own account (before the daemon stops).
gw_logs() {
	[ "$E2E_RC" = 0 ] && return 0
	for c in $GW $S1 $S2 $S3; do
		printf -- '--- docker logs %s (last 30 lines):\n' "$c"
		$D logs --tail 30 "$c" 2>&1
	done >&2
}
on_exit gw_logs

step "the compose v2 plugin, built from its Go module (cached in .cache/)"
ln -sf "$(./e2e/tools/docker-compose-plugin.sh)/docker-compose" "$DOCKER_CONFIG/cli-plugins/docker-compose"
COMPOSE_VERSION=$($D compose version --short)
ok "docker compose $COMPOSE_VERSION"

base_images

step "docker build --target sleeve from the checkout (the gateway's image too), and the fake API as an image"
build_target sleeve localhost/sleeve:e2e
IMAGE=localhost/sleeve:e2e
FAKECTX=$E2E_TMP/fake-image
mkdir -p "$FAKECTX"
cp bin/fake-anthropic "$FAKECTX/"
printf 'FROM scratch\nCOPY fake-anthropic /fake-anthropic\nENTRYPOINT ["/fake-anthropic", "-in-container", "-addr", "0.0.0.0:8080", "-refuse-dns", "0.0.0.0:53"]\n' >"$FAKECTX/Dockerfile"
$D build -q -t localhost/fake-anthropic:e2e "$FAKECTX" >/dev/null
VERSION=$(cat e2e/fixtures/claude-version)
ok "localhost/sleeve:e2e (claude $VERSION), localhost/fake-anthropic:e2e"

step "the API's network (gw-api) and the fake on it"
$D network create gw-api >/dev/null
$D run -d --name gw-fake --network gw-api localhost/fake-anthropic:e2e >/dev/null
FAKE_IP=$($D inspect gw-fake --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
FAKE_URL=http://$FAKE_IP:8080
[ "$FAKE_IP" = 172.30.0.2 ] || fail "the fake is at $FAKE_IP, not 172.30.0.2 (the daemon's --dns)"
wait_until 10 "the fake on gw-api to answer at $FAKE_URL" fake_answers
REPLY="Hello through the gateway"
# The fleet's token, and a part of it that no fingerprint shows (the last
# four characters are shown, by design).
TOK=$(fake_token oat01 gwFleetSecret9x2)
TOK_PART=gwFleetSecre
fake "$TOK" valid "$REPLY"
ok "the fake at $FAKE_URL (on gw-api only), the fleet token registered"

step "the operator's files, made as deploy/gateway/compose.yaml says: the token, the secret, a key per sleeve (docker compose run gateway key NAME)"
C=$E2E_TMP/fleet
mkdir -p "$C"
cp deploy/gateway/compose.yaml "$C/compose.yaml"
# The file as written, plus: the fake as the gateway's API, gw-api as its
# egress network, and a 2 s health interval.
cat >"$C/e2e.yaml" <<EOF
services:
  gateway:
    environment:
      ANTHROPIC_BASE_URL: "http://gw-fake:8080"
    healthcheck:
      interval: 2s
  sleeve-1:
    healthcheck:
      interval: 2s
  sleeve-2:
    healthcheck:
      interval: 2s
  sleeve-3:
    healthcheck:
      interval: 2s
networks:
  egress:
    external: true
    name: gw-api
EOF
dc() { (cd "$C" && SLEEVE_IMAGE=$IMAGE $D compose -p $P -f compose.yaml -f e2e.yaml "$@"); }
printf '%s\n' "$TOK" >"$C/claude_token.txt"
head -c 32 /dev/urandom | base64 >"$C/gateway_secret.txt"
chmod 0644 "$C/claude_token.txt" "$C/gateway_secret.txt"
SECRET=$(cat "$C/gateway_secret.txt")
SECRET_PART=$(echo "$SECRET" | cut -c9-24)
mkdir -p "$C/revoked" "$C/work/1" "$C/work/2" "$C/work/3"
chmod 0777 "$C"/work/*
# The file as written is valid on its own.
(cd "$C" && $D compose -f compose.yaml config -q) || fail "docker compose config: deploy/gateway/compose.yaml is not valid"
for n in 1 2 3; do
	dc run --rm -T --no-deps gateway key sleeve-$n >"$C/gateway_key_$n.txt" 2>"$E2E_TMP/key.err" ||
		{ cat "$E2E_TMP/key.err" >&2; fail "docker compose run gateway key sleeve-$n"; }
	grep -qxE "scgw1\.sleeve-$n\.[0-9a-f]{40}" "$C/gateway_key_$n.txt" || fail "gateway key sleeve-$n printed: $(cat "$C/gateway_key_$n.txt")"
done
chmod 0644 "$C"/gateway_key_*.txt
K1=$(cat "$C/gateway_key_1.txt") K2=$(cat "$C/gateway_key_2.txt") K3=$(cat "$C/gateway_key_3.txt")
ok "three keys, each one line: $(sed 's/\.[0-9a-f]*\([0-9a-f]\{4\}\)$/...\1/' "$C/gateway_key_1.txt"), ..."

step "docker compose up -d: a fresh gateway and three sleeves together; each healthy, at claude's prompt"
T0=$(date +%s%N)
dc up -d >"$E2E_TMP/compose.log" 2>&1 || { cat "$E2E_TMP/compose.log" >&2; fail "docker compose up failed"; }
# attach N: a person's view of sleeve N (its terminal), in tmux.
attach() {
	tmux kill-session -t "gw-$1" 2>/dev/null || true
	tmux_session "gw-$1" "DOCKER_HOST=$DOCKER_HOST $D attach $P-sleeve-$1-1; echo \"[detached \$?]\"; sleep 600"
}
# tmux_keeper: the server stays up while sessions come and go.
tmux_keeper gw-keeper
for n in 1 2 3; do
	attach $n
done
for n in 1 2 3; do
	# Attached after claude drew its prompt: Ctrl+L draws it again.
	poll_until 20 screen_has "gw-$n" "$PROMPT" || { tmux send-keys -t "gw-$n" C-l; wait_screen "gw-$n" "$PROMPT" 40; }
done
PROMPT_MS=$((($(date +%s%N) - T0) / 1000000))
for c in $S1 $S2 $S3; do
	wait_until -show "$D logs $c; $D inspect $c --format '{{json .State.Health}}'" 30 "$c to be healthy" state_is "$D" "$c" '{{.State.Health.Status}}' healthy
done
wait_until -show "$D logs $GW" 10 "the gateway to be healthy" state_is "$D" "$GW" '{{.State.Health.Status}}' healthy
for c in $S1 $S2 $S3; do
	L=$($D logs "$c" 2>&1)
	echo "$L" | grep -q "key for the gateway" || fail "$c did not start behind the gateway: $L"
done
# The gateway's /status, from the host, on gw-api.
GW_IP=$($D inspect "$GW" --format '{{(index .NetworkSettings.Networks "gw-api").IPAddress}}')
status() { curl -fsS "http://$GW_IP:8090/status"; }
ok "all three at claude's prompt $PROMPT_MS ms after docker compose up, and healthy; gateway /status at http://$GW_IP:8090/status"

step "2. the start of three sleeves behind a fresh gateway cost at most two inference requests (before any prompt)"
messages() { curl -fsS "$FAKE_URL/_fake/requests" | jq '[.[] | select(.method == "POST" and (.path | startswith("/v1/messages")))] | length'; }
N=$(messages)
ST=$(status)
[ "$N" -le 2 ] || fail "$N inference requests before any prompt, want at most 2: $(curl -fsS "$FAKE_URL/_fake/requests" | jq -c '[.[] | {path, user_agent, status}]'); the gateway's count by sleeve: $(echo "$ST" | jq -c '[.sleeves | to_entries[] | "\(.key): \(.value.requests)"]')"
ok "$N POST /v1/messages at the fake for three starts; the gateway: $(echo "$ST" | jq -c '{probes, requests: [.sleeves | to_entries[] | "\(.key): \(.value.requests)"]}')"

step "1. claude answers in each sleeve, through the gateway; the fake saw only the fleet token, from Claude Code; /status shows each sleeve; no sleeve reaches the API"
for n in 1 2 3; do
	talk "gw-$n"
done
ALL=$(curl -fsS "$FAKE_URL/_fake/requests")
LAST4=$(printf %s "$TOK" | tail -c 4)
BAD=$(echo "$ALL" | jq -c --arg c "bearer ...$LAST4" '[.[] | select(.path != "/api/hello") | select(.credential != $c or (.user_agent | startswith("claude-cli/") | not))]')
[ "$BAD" = "[]" ] || fail "the fake saw a request without the fleet token, or not from Claude Code: $BAD"
PATHS=$(echo "$ALL" | jq -r '[.[] | "\(.method) \(.path)"] | unique | join(", ")')
N=$(echo "$ALL" | jq '[.[] | select(.path == "/v1/messages")] | length')
ST=$(status)
for n in 1 2 3; do
	echo "$ST" | jq -e ".sleeves[\"sleeve-$n\"].requests >= 1" >/dev/null || fail "/status has no request of sleeve-$n: $ST"
done
echo "$ST" | jq -e '.credential.verdict == "valid"' >/dev/null || fail "/status: $ST"
# No way from a sleeve to the API: the sleeves are on the internal
# network only, and the API's name does not resolve there. By address: on
# a default engine `internal: true` adds the iptables rules that drop what
# leaves the network; this engine runs without iptables (lib/dockerd.sh),
# so here only a host that does not forward stops it, and the address is
# tried only then.
[ "$($D network inspect ${P}_sleeves --format '{{.Internal}}')" = true ] || fail "the sleeves' network is not internal"
for c in $S1 $S2 $S3; do
	NETS=$($D inspect $c --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}')
	[ "$NETS" = "${P}_sleeves " ] || fail "$c is on: $NETS"
done
$D exec $S1 timeout 3 getent hosts gw-fake && fail "sleeve-1 resolves the fake API's name"
if [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 0 ]; then
	$D exec $S1 timeout 3 bash -c "exec 3<>/dev/tcp/$FAKE_IP/8080" 2>/dev/null && fail "sleeve-1 reaches the fake API at $FAKE_IP:8080"
	BYADDR="nor its address"
else
	BYADDR="(its address not tried: this host forwards and the engine has no iptables)"
fi
$D exec $GW timeout 5 bash -c "exec 3<>/dev/tcp/gw-fake/8080" || fail "the gateway does not reach the fake API"
ok "three answers on screen; the fake saw $N messages, all 'bearer ...$LAST4' from claude-cli/ ($PATHS); /status: $(echo "$ST" | jq -c '[.sleeves | to_entries[] | "\(.key): \(.value.requests)"]'); the sleeves only on ${P}_sleeves (internal), the API's name unknown there, $BYADDR"

step "3. a hunt in sleeve-1, as agent and as root: every readable /proc/*/environ and cmdline, every readable file; no fleet token, no part of it, no gateway secret, no other sleeve's key"
# hunt USER OWN: the hunt in sleeve-1. The patterns come on stdin (not in
# an argument or the environment, where the hunt would find itself) into a
# folder the hunt leaves out. The sleeve's own key must be found where OWN
# (a regular expression) says: the hunt sees what USER sees. (Root in the
# container lacks CAP_SYS_PTRACE, so it cannot read agent's environment;
# the key file it can.)
hunt() {
	HUNT=$(printf '%s\n' "$TOK" "$TOK_PART" "$SECRET" "$SECRET_PART" "$K2" "$K3" "$K1" | $D exec -i -u "$1" $S1 bash -c '
	d=$(mktemp -d) && cat >"$d/p" && head -6 "$d/p" >"$d/bad" && tail -1 "$d/p" >"$d/own"
	envs=$(ls /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null)
	echo "procs: $(echo "$envs" | wc -l)"
	for f in $envs; do grep -qF -f "$d/bad" "$f" 2>/dev/null && echo "FOUND in $f: $(tr "\0" " " <"${f%/*}/cmdline" | cut -c1-60)"; done
	for f in $envs; do grep -qF -f "$d/own" "$f" 2>/dev/null && echo "own key in $f: $(tr "\0" " " <"${f%/*}/cmdline" | cut -c1-60)"; done
	find / /dev/shm /run /tmp /home -xdev -path "$d" -prune -o -readable -type f -size -64M -print0 2>/dev/null >"$d/files"
	echo "files: $(tr -cd "\0" <"$d/files" | wc -c)"
	timeout 120 xargs -0 -r grep -lF -f "$d/bad" <"$d/files" 2>/dev/null | sed "s/^/FOUND in file /"
	timeout 120 xargs -0 -r grep -lF -f "$d/own" <"$d/files" 2>/dev/null | sed "s/^/own key in file /"
	rm -rf "$d"
' 2>&1) || true
echo "$HUNT" | grep -q '^files: [1-9]' || fail "the hunt as $1 did not run: $HUNT"
echo "$HUNT" | grep '^FOUND' && fail "the hunt as $1 found a secret in sleeve-1"
echo "$HUNT" | grep -q "^own key in $2" || fail "the hunt as $1 did not find sleeve-1's own key in $2 (it would not see the token either): $HUNT"
HUNTS="$HUNTS; as $1: nothing in $(echo "$HUNT" | sed -n 's/^procs: //p') /proc files and $(echo "$HUNT" | sed -n 's/^files: //p') readable files, the own key in $(echo "$HUNT" | grep '^own key' | sed 's/^own key in //; s/^file //; s/:.*//' | sort -u | tr '\n' ' ' | sed 's/ $//')"
}
HUNTS=
hunt agent '/proc/[0-9]*/environ: .*claude'
hunt root 'file /run/secrets/gateway_key$'
ok "${HUNTS#; }"

step "4. sleeve-2 revoked (a line in revoked/sleeves): its health unhealthy within seconds, sleeves 1 and 3 healthy, claude still answers in sleeve-1; a restart of sleeve-2 exits 6"
health() { $D exec "$1" sleeve-check health 2>&1; }
echo sleeve-2 >>"$C/revoked/sleeves"
T0=$(date +%s%N)
refused() { health $S2 | grep -q "refused this sleeve's key.*revoked"; }
wait_until -show "health $S2" 10 "sleeve-2's health to say its key is revoked" refused
H2=$(health $S2) && fail "sleeve-check health exit 0 in a revoked sleeve: $H2" || true
REV_MS=$((($(date +%s%N) - T0) / 1000000))
wait_until -show "$D inspect $S2 --format '{{json .State.Health}}'" 20 "Docker to call sleeve-2 unhealthy" state_is "$D" $S2 '{{.State.Health.Status}}' unhealthy
DOCKER_S=$((($(date +%s%N) - T0) / 1000000000))
$D inspect $S2 --format '{{range .State.Health.Log}}{{.Output}}{{end}}' | grep -q "refused this sleeve's key" || fail "Docker's health log of sleeve-2 lacks the reason"
for c in $S1 $S3; do
	H=$(health $c) || fail "$c unhealthy after sleeve-2's revocation: $H"
	state_is "$D" $c '{{.State.Health.Status}}' healthy || fail "Docker calls $c $($D inspect $c --format '{{.State.Health.Status}}')"
done
REPLY="Still answering in sleeve-1"
fake "$TOK" valid "$REPLY"
talk gw-1
# A restart of the revoked sleeve: exit 6, and Docker's bounded retries.
$D restart -t 5 $S2 >/dev/null
wait_until -show "$D logs --tail 20 $S2; $D inspect $S2 --format '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}'" 60 "sleeve-2 to stay exited" \
	state_is "$D" $S2 '{{.State.Status}} {{.State.ExitCode}}' "exited 6"
sleep 2
[ "$($D inspect $S2 --format '{{.State.Status}} {{.State.ExitCode}}')" = "exited 6" ] || fail "sleeve-2 after a restart: $($D inspect $S2 --format '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}')"
RC2=$($D inspect $S2 --format '{{.RestartCount}}')
LOG2=$($D logs --tail 5 $S2 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
echo "$LOG2" | grep -q "error: the gateway .* refused this sleeve's key .*revoked" || fail "sleeve-2's log after the restart: $LOG2"
status | jq -e '.sleeves["sleeve-2"].refused >= 1' >/dev/null || fail "/status counts no refusal of sleeve-2: $(status)"
ok "sleeve-check health said so after $REV_MS ms: '$(echo "$H2" | cut -c1-150)...'; Docker: unhealthy after $DOCKER_S s; 1 and 3 healthy; sleeve-1 answered; restarted: exit 6 (restart count $RC2), '$(echo "$LOG2" | grep 'error:' | tail -1 | cut -c1-100)...'"
# Taken off the list as an editor writes (a new file renamed over the
# old: the folder is mounted, not the file), sleeve-2 starts again.
printf '# none revoked\n' >"$C/revoked/.sleeves.new" && mv "$C/revoked/.sleeves.new" "$C/revoked/sleeves"
sleep 1
T0=$(date +%s%N)
dc up -d sleeve-2 >>"$E2E_TMP/compose.log" 2>&1 || { tail "$E2E_TMP/compose.log" >&2; fail "docker compose up -d sleeve-2"; }
UP_MS=$((($(date +%s%N) - T0) / 1000000))
wait_until -show "$D logs --tail 10 $S2" 30 "sleeve-2 to be healthy again once off the list" state_is "$D" $S2 '{{.State.Health.Status}}' healthy
ok "off the list (rewritten by rename) and docker compose up -d ($UP_MS ms): sleeve-2 healthy again $((($(date +%s%N) - T0) / 1000000)) ms after"

step "5+6. docker stop of the gateway while a request is in flight: it drains, exits 0; the sleeves unhealthy ('gateway ... unreachable'); a sleeve (re)started meanwhile waits; docker start heals them all, with no restart by Docker"
before() { $D inspect "$1" --format '{{.State.StartedAt}} {{.RestartCount}}'; }
B1=$(before $S1) B2=$(before $S2) B3=$(before $S3)
# A slow answer (3 s) to the fleet token, asked in sleeve-1 by claude -p.
curl -fsS -X POST "$FAKE_URL/_fake/tokens" -d "{\"token\":\"$TOK\",\"behavior\":\"valid\",\"reply\":\"Drained\",\"delay_seconds\":3}"
N0=$(messages)
$D exec -u agent $S1 sleeve-check --quiet -- claude -p "a slow one" >"$E2E_TMP/slow.out" 2>&1 &
SLOW=$!
in_flight() { [ "$(messages)" -gt "$N0" ]; }
wait_until 30 "claude -p's request to reach the fake" in_flight
T0=$(date +%s%N)
$D stop $GW >/dev/null
STOP_MS=$((($(date +%s%N) - T0) / 1000000))
# The fake held the answer 3 s: docker stop waited for it, not for its own timeout.
[ "$STOP_MS" -ge 1000 ] && [ "$STOP_MS" -lt 10000 ] || fail "docker stop of the gateway took $STOP_MS ms with a request in flight for 3 s"
wait "$SLOW" || fail "claude -p in flight during docker stop of the gateway: $(cat "$E2E_TMP/slow.out")"
grep -q Drained "$E2E_TMP/slow.out" || fail "the request in flight did not get its answer: $(cat "$E2E_TMP/slow.out")"
[ "$($D inspect $GW --format '{{.State.ExitCode}}')" = 0 ] || fail "the gateway exited $($D inspect $GW --format '{{.State.ExitCode}}') on docker stop, want 0"
$D logs $GW 2>&1 | grep -q 'gateway: draining' || fail "no drain in the gateway's log"
$D logs --tail 1 $GW 2>&1 | grep -q 'gateway: stopped' || fail "the gateway's log does not end with 'stopped': $($D logs --tail 3 $GW 2>&1)"
ok "the answer in flight arrived; the gateway exited 0 after $STOP_MS ms (drain), its log: $($D logs $GW 2>&1 | grep -o 'gateway: draining.*' | head -1)"
fake "$TOK" valid "$REPLY" >/dev/null
T0=$(date +%s%N)
# sleeve-check health in the three at once (each waits its deadline, 5 s,
# for a gateway that does not answer).
HPIDS=
for c in $S1 $S2 $S3; do
	{ health $c >"$E2E_TMP/health.$c" && echo 0 >>"$E2E_TMP/health.$c"; } &
	HPIDS="$HPIDS $!"
done
wait $HPIDS || true
for c in $S1 $S2 $S3; do
	grep -q '^unhealthy: the credential gateway .* is unreachable' "$E2E_TMP/health.$c" || fail "$c's health with the gateway stopped: $(cat "$E2E_TMP/health.$c")"
	grep -qx 0 "$E2E_TMP/health.$c" && fail "$c: sleeve-check health exit 0 with the gateway stopped"
done
HU=$(cat "$E2E_TMP/health.$S1")
# A sleeve that starts while the gateway is away (here: docker restart)
# waits in place (SLEEVE_CHECK_ON_UNAVAILABLE=wait): no exit 8, no
# restart. Meanwhile Docker's checks find the other two unhealthy.
$D restart -t 5 $S3 >/dev/null &
RESTART3=$!
for c in $S1 $S2; do
	wait_until -show "$D inspect $c --format '{{json .State.Health}}'" 30 "Docker to call $c unhealthy" state_is "$D" $c '{{.State.Health.Status}}' unhealthy
done
DOWN_S=$((($(date +%s%N) - T0) / 1000000000))
wait $RESTART3 || fail "docker restart of sleeve-3"
wait_log "$D" $S3 'probing again in' 40
WAITED=$($D logs $S3 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep 'probing again in' | tail -1 | sed 's/^sleeve-check: info: //')
$D start $GW >/dev/null
T0=$(date +%s%N)
for c in $S1 $S2 $S3; do
	wait_until -show "health $c; $D logs --tail 5 $c; $D inspect $c --format '{{json .State.Health}}'" 40 "Docker to call $c healthy again" state_is "$D" $c '{{.State.Health.Status}}' healthy
done
UP_S=$((($(date +%s%N) - T0) / 1000000000))
[ "$(before $S1)" = "$B1" ] || fail "sleeve-1 was restarted: $B1 -> $(before $S1)"
[ "$(before $S2)" = "$B2" ] || fail "sleeve-2 was restarted: $B2 -> $(before $S2)"
[ "$($D inspect $S3 --format '{{.RestartCount}}')" = "${B3#* }" ] || fail "Docker restarted sleeve-3 as it waited: $($D logs --tail 10 $S3 2>&1)"
REPLY="Back through the gateway"
fake "$TOK" valid "$REPLY"
talk gw-1
attach 3
poll_until 10 screen_has gw-3 "$PROMPT" || tmux send-keys -t gw-3 C-l
talk gw-3
ok "unhealthy within $DOWN_S s: '$(echo "$HU" | cut -c1-120)...'; sleeve-3, restarted meanwhile, said: '$(echo "$WAITED" | cut -c1-160)...'; all healthy $UP_S s after docker start; sleeves 1 and 2 not restarted (StartedAt, RestartCount), sleeve-3 not by Docker; claude answered in sleeves 1 and 3"

step "7. no secret in any docker logs or docker inspect (health logs included): the fleet token, the gateway secret, the keys"
for c in $($D ps -aq); do
	NAME=$($D inspect "$c" --format '{{.Name}}')
	{ $D logs "$c" 2>&1; $D inspect "$c"; } >"$E2E_TMP/seen"
	for s in "$TOK" "$TOK_PART" "$SECRET" "$SECRET_PART" "$K1" "$K2" "$K3"; do
		grep -qF -- "$s" "$E2E_TMP/seen" && fail "a secret (...$(printf %s "$s" | tail -c 4)) is in docker logs or inspect of $NAME"
	done
done
status | grep -qF -e "$TOK" -e "$SECRET" -e "$K1" && fail "a secret is in the gateway's /status"
ok "none in $($D ps -aq | wc -l) containers' logs and inspect, nor in /status"

step "the end: docker compose down"
dc down -v >/dev/null 2>&1
ok "removed"
T_ALL=$(($(date +%s) - T_START))
echo
echo "e2e-gateway: all passed in $T_ALL s (engine $ENGINE, client $CLIENT, compose $COMPOSE_VERSION, claude $VERSION)"
