#!/bin/sh
# make e2e-protectorate: the protectorate image spawned exactly as
# Protectorate's Envoy spawns a sleeve, on the Docker engine (the private
# dockerd of e2e/lib/dockerd.sh): the raven network, the agent-workspaces
# volume and the agent-creds volume read-only, Envoy's labels, and no
# environment, terminal, user, health check or restart policy. A person's
# view is Envoy's web terminal: docker exec -it -u agent <sleeve> dtach -a
# /home/agent/.dtach/session.sock -e '^\' -z, driven here in tmux, with the
# real Claude Code CLI. The fake API runs in a container on raven, and the
# image's user settings point the sleeves at it: nothing is set at spawn.
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
remove_leftovers tmux 'tmux:^t-([a-d]|keeper)$'
start_dockerd
remove_leftovers "the engine" docker-container:fake docker-container:envoy docker-container:sleeve-a docker-container:sleeve-b docker-container:sleeve-c \
	docker-container:sleeve-d docker-network:raven docker-volume:agent-workspaces docker-volume:agent-creds-a docker-volume:agent-creds-b \
	docker-volume:agent-creds-c docker-volume:agent-creds-d
# On a failure, the sleeves' own account (before the daemon stops).
sleeve_logs() {
	[ "$E2E_RC" = 0 ] && return 0
	for c in $($D ps -a --format '{{.Names}}' 2>/dev/null | grep '^sleeve-'); do
		printf -- '--- docker logs %s (last 40 lines):\n' "$c"
		$D logs --tail 40 "$c" 2>&1
	done >&2
}
on_exit sleeve_logs
base_images

step "docker build --target protectorate (Envoy's layout), and the fake API as an image"
build_target protectorate localhost/sleeve-protectorate:e2e
FAKECTX=$E2E_TMP/fake-image
mkdir -p "$FAKECTX"
cp bin/fake-anthropic "$FAKECTX/"
printf 'FROM scratch\nCOPY fake-anthropic /fake-anthropic\nENTRYPOINT ["/fake-anthropic", "-in-container", "-addr", "0.0.0.0:8080", "-refuse-dns", "0.0.0.0:53"]\n' >"$FAKECTX/Dockerfile"
$D build -q -t localhost/fake-anthropic:e2e "$FAKECTX" >/dev/null
ok "built localhost/sleeve-protectorate:e2e"

step "Envoy's network and volumes; the fake API on raven"
$D network create raven >/dev/null
$D volume create agent-workspaces >/dev/null
$D run -d --name fake --network raven localhost/fake-anthropic:e2e >/dev/null
FAKE_IP=$($D inspect fake --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
FAKE_URL=http://$FAKE_IP:8080
# The first container on raven: the DNS server the daemon gives (lib/dockerd.sh).
[ "$FAKE_IP" = 172.30.0.2 ] || fail "the fake is at $FAKE_IP, not 172.30.0.2 (the daemon's --dns)"
wait_until 10 "the fake on raven to answer at $FAKE_URL" fake_answers
# The image as a user of this fake would have it: the image's environment
# names the fake (the keeper's credential gateway, which holds the pasted
# token as root, and the checks read it; claude goes through the gateway).
# Nothing at spawn. (Not the managed settings: with
# /etc/claude-code/managed-settings.json present, claude 2.1.332 took 19 s
# to start on a network with no route out, against 2 s without.)
IMG=$E2E_TMP/with-fake
mkdir -p "$IMG"
# The API's URL in the image's environment, which the keeper's credential
# gateway (root) and claude's checks read; Envoy itself sets none.
printf 'FROM localhost/sleeve-protectorate:e2e\nENV ANTHROPIC_BASE_URL=%s\n' "$FAKE_URL" >"$IMG/Dockerfile"
$D build -q -t localhost/sleeve-protectorate:e2e-fake "$IMG" >/dev/null
IMAGE=localhost/sleeve-protectorate:e2e-fake
# Envoy's place: a container on raven (after the fake, which must be the
# first) that asks the sleeves for /status by name, as Envoy's does.
$D run -d --name envoy --network raven localhost/sleeve-base:bookworm-dtach sleep 100000 >/dev/null
VERSION=$(cat e2e/fixtures/claude-version)
ok "raven, agent-workspaces; the fake at $FAKE_URL, on raven only; envoy's container on raven"

REPLY="Hello from the fake API"
# creds NAME CMD: run CMD (sh) as root against the agent-creds-NAME volume
# at /c, as Envoy's process writes it (mode 0600, owned by root).
creds() {
	$D volume create "agent-creds-$1" >/dev/null
	$D run --rm -v "agent-creds-$1:/c" -e T1="${T1:-}" -e T2="${T2:-}" localhost/sleeve-base:bookworm-dtach sh -c "umask 077; mkdir -p /c/claude; $2" ||
		fail "cannot write the agent-creds-$1 volume"
}
# spawn NAME: Envoy's ContainerCreate and ContainerStart, one to one.
spawn() {
	$D create --name "sleeve-$1" --network raven \
		--label protectorate.sleeve=true --label "protectorate.name=$1" --label "protectorate.workspace=$1" \
		--mount type=volume,src=agent-workspaces,dst=/home/agent/workspace \
		--mount "type=volume,src=agent-creds-$1,dst=/home/agent/.creds,readonly" \
		"$IMAGE" >/dev/null
	$D start "sleeve-$1" >/dev/null
}
# has_session NAME: the session's dtach socket is there.
has_session() { $D exec -u agent "sleeve-$1" test -S /home/agent/.dtach/session.sock 2>/dev/null; }
# attach NAME: Envoy's web terminal, in tmux, once the session is there.
attach() {
	wait_until -show "$D logs sleeve-$1" 30 "a session to attach to in sleeve-$1" has_session "$1"
	tmux kill-session -t "t-$1" 2>/dev/null || true
	tmux_session "t-$1" "$D exec -it -u agent sleeve-$1 dtach -a /home/agent/.dtach/session.sock -e '^\\' -z; echo \"[detached \$?]\"; sleep 600"
}
health() { $D exec "sleeve-$1" sleeve-check health || true; }
# claude_pid NAME: the claude the session runs, as agent (uid 1000).
claude_pid() { $D top "sleeve-$1" -eo pid,uid,args | awk '$2 == 1000 && $3 ~ /\/claude$/ { print $1; f = 1; exit } END { exit !f }'; }
# sidecar NAME [PATH]: Envoy's GET http://sleeve-NAME:8080/status (or PATH)
# from its container on raven, by the container's name, within Envoy's 5 s;
# prints the body of a 200 answer, fails on anything else.
sidecar() {
	_r=$($D exec -e N="sleeve-$1" -e P="${2:-/status}" envoy timeout 5 bash -c \
		'exec 3<>"/dev/tcp/$N/8080" && printf "GET %s HTTP/1.0\r\nHost: %s:8080\r\n\r\n" "$P" "$N" >&3 && cat <&3' 2>&1 | tr -d '\r') ||
		{ printf '%s\n' "$_r" >&2; return 1; }
	case $_r in "HTTP/1."?" 200 "*) ;; *) printf '%s\n' "$_r" >&2; return 1 ;; esac
	printf '%s\n' "$_r" | sed '1,/^$/d'
}
# sidecar_is NAME JQ: /status of sleeve-NAME decodes and JQ holds for it.
sidecar_is() { sidecar "$1" 2>/dev/null | jq -e "$2" >/dev/null 2>&1; }
# noleak NAME SECRET: not in docker logs, docker inspect, or the state.
noleak() {
	{ $D logs "sleeve-$1" 2>&1; $D inspect "sleeve-$1"; $D exec "sleeve-$1" sh -c 'cat /run/sleeve-check/* /run/sleeve-keeper/verdict.json 2>/dev/null'; } | grep -qF "$2" &&
		fail "a secret of sleeve-$1 leaked into its logs, inspect or state" || true
}

# attach kills a terminal's session before it attaches again.
tmux_keeper t-keeper

step "(a) a pasted setup-token (envoy auth login claude <token>): claude's prompt in the session, no dialog, the token sent as Bearer"
T1=$(fake_token oat01 pa-good)
fake "$T1" valid "$REPLY"
creds a 'printf "{\"accessToken\": \"%s\"}" "$T1" >/c/claude/credentials.json'
# Spawn to prompt: from Envoy's create to claude's prompt in its terminal
# (docs/protectorate.md keeps the numbers).
T0=$(date +%s%N)
spawn a
[ "$($D inspect sleeve-a --format '{{.Config.Tty}}|{{.Config.User}}|{{.HostConfig.RestartPolicy.Name}}')" = "false||no" ] ||
	fail "not spawned as Envoy spawns: $($D inspect sleeve-a --format '{{.Config.Tty}}|{{.Config.User}}|{{.HostConfig.RestartPolicy.Name}}')"
$D inspect sleeve-a --format '{{json .Config.Env}}' | grep -q 'CLAUDE_CODE_OAUTH_TOKEN' && fail "a token in the container's environment"
attach a
wait_screen t-a "$PROMPT" 60
SPAWN_MS=$((($(date +%s%N) - T0) / 1000000))
talk t-a
no_screen t-a "trust this folder|Bypass Permissions mode|Select login method|Choose the text style"
curl -fsS "$FAKE_URL/_fake/requests" | jq -r '.[] | select(.path == "/v1/messages") | .credential' | grep -q "^bearer \.\.\.$(printf %s "$T1" | tail -c 4)$" ||
	fail "the pasted token was not sent as Bearer: $(curl -fsS "$FAKE_URL/_fake/requests" | jq -c '[.[] | .credential] | unique')"
H=$(health a)
echo "$H" | grep -q '^healthy: checked .* by the keeper, oauth_token \.\.\.' || fail "health: $H"
claude_pid a >/dev/null || fail "claude does not run as agent: $($D top sleeve-a -eo pid,uid,args)"
noleak a "$T1"
# The keeper's gateway (root) holds the pasted token; claude has the key.
# A hunt as the agent, as a command the agent runs would hunt: every
# readable /proc/*/environ and cmdline, every readable file. The token
# goes in on stdin and lives in a file under /dev (pruned), so the hunt
# does not find itself.
HUNT=$(printf '%s\n' "$T1" | $D exec -i -u agent sleeve-a sh -c '
	P=/dev/shm/hunt.$$; cat >"$P"
	for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do grep -qF -f "$P" "$f" 2>/dev/null && echo "$f"; done
	find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -type f -readable -size -64M -print0 2>/dev/null | xargs -0 -r grep -lF -f "$P" 2>/dev/null
	rm -f "$P"' || true)
[ -z "$HUNT" ] || fail "the agent reads the pasted token in: $HUNT"
# (claude_pid is the host's pid: inside, claude is found by its name.)
$D exec -u agent sleeve-a sh -c 'for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = claude ] && tr "\0" "\n" <"$p/environ" 2>/dev/null; done' |
	grep -q '^CLAUDE_CODE_OAUTH_TOKEN=scgw1\.' || fail "claude's token is not the keeper's gateway key"
ok "the prompt $SPAWN_MS ms after docker create (spawn to prompt) and the fake's answer in Envoy's terminal; Bearer; $H; the agent finds the token nowhere (claude has a gateway key)"

step "(a'') Envoy's dashboard: GET http://sleeve-a:8080/status from a container on raven decodes, with the real version, claude's process and claude_auth"
[ "$($D exec -u agent sleeve-a claude --version | cut -d' ' -f1)" = "$VERSION" ] || fail "the image's claude is not $VERSION"
HOSTNAME_A=$($D inspect sleeve-a --format '{{.Config.Hostname}}')
# The version is asked of claude once, as the keeper starts: there by now.
wait_until -show "sidecar a" 15 "sleeve-a's /status to show Claude Code $VERSION, claude's pid and claude_auth" sidecar_is a \
	"(.sleeve_name == \"$HOSTNAME_A\") and .dhf.name == \"Claude Code\" and .dhf.version == \"$VERSION\" and (.process.pid > 0) and .auth.claude_auth == true and .sleeve_check.verdict == \"ok\" and .workspace.path == \"/home/agent/workspace\""
ST=$(sidecar a)
SPID=$(echo "$ST" | jq -r .process.pid)
$D exec sleeve-a cat "/proc/$SPID/comm" | grep -qx claude || fail "/status names pid $SPID, which is not claude: $ST"
sidecar a /health >/dev/null || fail "GET /health did not answer 200"
echo "$ST" | grep -qF "$T1" && fail "the token is in /status"
ok "$(echo "$ST" | jq -c '{sleeve_name, dhf, process: {pid: .process.pid}, workspace, auth, verdict: .sleeve_check.verdict}')"

step "(a') detach (Ctrl+\\) and attach again: the same claude"
PID1=$(claude_pid a)
tmux send-keys -t t-a 'C-\'
wait_screen t-a '\[detached 0\]'
attach a
tmux send-keys -t t-a C-l
wait_screen t-a "$PROMPT"
PID2=$(claude_pid a)
[ "$PID1" = "$PID2" ] || fail "claude changed across a detach: $PID1 -> $PID2"
ok "detached and attached again: claude $PID1 still runs"

step "(b) a synced login (envoy auth sync) with the operator's settings.json: the prompt, the operator's keys kept, a refreshed copy kept across a restart"
T1=$(fake_token oat01 pb-good)
fake "$T1" valid "$REPLY"
FUTURE=$((($(date +%s) + 7200) * 1000))
creds b "printf '{\"claudeAiOauth\":{\"accessToken\":\"%s\",\"refreshToken\":\"sk-ant-ort01-e2e\",\"expiresAt\":$FUTURE,\"scopes\":[\"user:inference\",\"user:profile\"]}}' \"\$T1\" >/c/claude/.credentials.json;
	printf '{\"userID\":\"operator-user\",\"numStartups\":42,\"operatorKey\":\"kept\",\"hasCompletedOnboarding\":false}' >/c/claude/settings.json"
spawn b
attach b
talk t-b
GLOBAL=$($D exec -u agent sleeve-b cat /home/agent/.claude.json)
# The operator's keys are there (claude counts its own starts on from the
# operator's 42; it rewrites userID itself), and the flags are set.
for k in '"operatorKey": "kept"' '"numStartups": 4[2-9]' '"hasCompletedOnboarding": true'; do
	echo "$GLOBAL" | grep -qE "$k" || fail "~/.claude.json lacks $k: $GLOBAL"
done
# Claude Code refreshes the copy: a later expiresAt in ~/.claude/.credentials.json.
LATER=$((FUTURE + 3600000))
$D exec -u agent sleeve-b sh -c "sed -i 's/\"expiresAt\":$FUTURE/\"expiresAt\":$LATER/' /home/agent/.claude/.credentials.json"
$D restart -t 5 sleeve-b >/dev/null
# Until the keeper's verdict is one of the restarted container's.
passed_again() {
	$D exec sleeve-b sh -c 'test "$(( $(date +%s) - $(date -d "$(sed -n "s/.*\"checked_at\": *\"\([^\"]*\)\".*/\1/p" /run/sleeve-keeper/verdict.json)" +%s) ))" -lt 30' 2>/dev/null &&
		$D exec sleeve-b grep -q '"ok": true' /run/sleeve-keeper/verdict.json 2>/dev/null && claude_pid b >/dev/null
}
wait_until -show "$D logs sleeve-b" 60 "sleeve-b to pass its check after the restart" passed_again
$D exec -u agent sleeve-b grep -q "\"expiresAt\":$LATER" /home/agent/.claude/.credentials.json || fail "the refreshed copy was replaced by the seed"
noleak b "$T1"
ok "operator keys kept, the flags set; the refreshed copy kept across docker restart"

step "(c) an expired token: the error and hint in the session and docker logs, health unhealthy, the container up; a good token written into the volume: claude starts by itself within a minute"
T1=$(fake_token oat01 pc-old0)
fake "$T1" expired "$REPLY"
creds c 'printf "{\"accessToken\": \"%s\"}" "$T1" >/c/claude/credentials.json'
spawn c
attach c
wait_screen t-c 'sleeve-check: error: ' 40
wait_screen t-c 'sleeve-check: hint: '
wait_screen t-c 'checking again in 1m0s; press Enter to check now'
ERR=$(screen t-c | grep 'sleeve-check: error: ' | tail -1)
$D logs sleeve-c 2>&1 | grep -qF "$ERR" || fail "docker logs lacks: $ERR"
H=$(health c)
echo "$H" | grep -q '^unhealthy: ' || fail "health: $H"
[ "$($D inspect sleeve-c --format '{{.State.Running}}')" = true ] || fail "the container is not running"
ST=$(sidecar c) || fail "sleeve-c's /status did not answer"
echo "$ST" | jq -e '.auth.claude_auth == false and .sleeve_check.verdict == "failed" and .dhf.name == "Claude Code"' >/dev/null ||
	fail "sleeve-c's /status for an expired token: $ST"
ok "$H; /status: $(echo "$ST" | jq -c '{auth, verdict: .sleeve_check.verdict, reason: .sleeve_check.reason}')"

step "(c') Ctrl+C at the failure screen in Envoy's terminal: the session stays, Enter still checks again"
N=$($D logs sleeve-c 2>&1 | grep -cF "$ERR")
tmux send-keys -t t-c C-c
sleep 2
no_screen t-c '\[detached'
has_session c || fail "the session's socket is gone after Ctrl+C"
screen_has t-c 'checking again in 1m0s; press Enter to check now' || { screen t-c >&2; fail "the failure screen is gone after Ctrl+C"; }
tmux send-keys -t t-c Enter
more_errors() { [ "$($D logs sleeve-c 2>&1 | grep -cF "$ERR")" -gt "$N" ]; }
wait_until -show "$D logs sleeve-c" 30 "Enter after Ctrl+C to check sleeve-c again" more_errors
ok "Ctrl+C: the session and its failure screen stay; Enter checked again"
T2=$(fake_token oat01 pc-new0)
fake "$T2" valid "$REPLY"
creds c 'printf "{\"accessToken\": \"%s\"}" "$T2" >/c/claude/credentials.json'
T0=$(date +%s)
# The session checks again by itself within a minute of the failure (no
# key pressed; the check, a claude -p, takes seconds more), then claude
# starts in it.
wait_screen t-c "$PROMPT" 120
S=$(($(date +%s) - T0))
wait_until -show "sidecar c" 15 "sleeve-c's /status to say claude_auth true once the volume is fixed" sidecar_is c \
	'.auth.claude_auth == true and .sleeve_check.verdict == "ok" and (.process.pid > 0)'
noleak c "$T1"
noleak c "$T2"
ok "$ERR; the new token: claude's prompt in the same session after $S s; /status: claude_auth true"

step "(d) an empty volume: the session names the files and the Envoy commands; Enter checks again at once"
$D volume create agent-creds-d >/dev/null
spawn d
attach d
wait_screen t-d 'no Claude credential in /home/agent/.creds' 40
wait_screen t-d 'envoy auth login claude'
screen t-d | grep -q 'envoy auth sync' || fail "the hint lacks envoy auth sync"
$D logs sleeve-d 2>&1 | grep -q 'no Claude credential in /home/agent/.creds' || fail "docker logs lacks the message"
health d | grep -q '^unhealthy: no Claude credential' || fail "health: $(health d)"
T1=$(fake_token oat01 pd-good)
fake "$T1" valid "$REPLY"
creds d 'printf "{\"accessToken\": \"%s\"}" "$T1" >/c/claude/credentials.json'
tmux send-keys -t t-d Enter
wait_screen t-d "$PROMPT" 30
noleak d "$T1"
ok "the message names claude/credentials.json and claude/.credentials.json, envoy auth login and envoy auth sync; Enter: the prompt"

echo
echo "e2e-protectorate: all passed in $(($(date +%s) - T_START)) s (engine $ENGINE, claude $(cat e2e/fixtures/claude-version))"
