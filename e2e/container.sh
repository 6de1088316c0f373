#!/bin/sh
# make e2e-container: the sleeve image in real containers (podman), against
# the project's fake API on loopback. Cases 1-6 use the stand-in in
# e2e/fixtures/claude-stand-in as the command: they are about the container (PID 1,
# the user, health, stop), not Claude Code. Case 7 builds the image with
# the real, pinned Claude Code CLI and runs claude -p through it; make
# e2e-claude drives the real CLI interactively.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib/common.sh
. e2e/lib/podman.sh
. e2e/lib/leftovers.sh
e2e_begin

need_root
install_packages podman runc debootstrap tini curl catatonit podman-compose
make -s build >/dev/null
step "what an earlier run left"
remove_leftovers podman pod:sleeve-1 container:sleeve-1-sleeve container:sleeve-e2e container:sleeve-e2e-root \
	container:compose_sleeve-1_1 secret:claude-token \
	pod:sleeve-gateway-pod-0 container:sleeve-gateway-pod-0-gateway pod:sleeve-2 container:sleeve-2-sleeve \
	secret:sleeve-gateway secret:sleeve-1-gateway-key secret:sleeve-2-gateway-key

step "make image: Dockerfile.sleeve from the checkout, with local base images"
VERSION=e2e ./scripts/image.sh
IMAGE=localhost/sleeve:e2e
$PODMAN run --rm $RUNFLAGS --entrypoint claude "$IMAGE" --version 2>&1 | grep -q "^$(cat e2e/fixtures/claude-version) (Claude Code)" || fail "claude --version in the image"
$PODMAN run --rm $RUNFLAGS --entrypoint sleeve-check "$IMAGE" --version 2>&1 | grep -q "^sleeve-check e2e (commit .*, linux/$(go env GOARCH))" || fail "sleeve-check --version in the image"
c=$($PODMAN create localhost/sleeve-check:e2e)
$PODMAN cp "$c:/sleeve-check" "$E2E_TMP/sleeve-check-from-scratch" && $PODMAN rm "$c" >/dev/null
"$E2E_TMP/sleeve-check-from-scratch" --version | grep -q '^sleeve-check e2e ' || fail "/sleeve-check copied out of the scratch image does not run"
ok "the image runs claude --version and sleeve-check --version; /sleeve-check copied out of sleeve-check:e2e runs"
# Cases 1-6b run the stand-in in place of the real claude: they are about
# the container. The probe it hands to the real CLI, the pinned release.
STAND_IN="-v $ROOT/e2e/fixtures/claude-stand-in:/usr/local/bin/claude:ro -v $(./e2e/tools/install-claude.sh):/opt/claude-real:ro"

GOOD=$(fake_token oat01 e2e-good)
OLD=$(fake_token oat01 e2e-old0)
start_fake -token "$GOOD=valid"
TTL=4
on_exit "$PODMAN rm -f sleeve-e2e sleeve-e2e-root >/dev/null 2>&1"

step "1. a valid token: the container starts; PID 1 is tini, then the command as the sleeve user"
$PODMAN run -dit --name sleeve-e2e --network host $RUNFLAGS $STAND_IN \
	--health-start-period 0s --health-retries 1 \
	-e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s -e SLEEVE_CHECK_HEALTH_TTL=${TTL}s "$IMAGE" >/dev/null
wait_log "$PODMAN" sleeve-e2e "claude stand-in: started as uid 1000 (agent)"
TOP=$($PODMAN top sleeve-e2e pid user args)
echo "$TOP"
echo "$TOP" | awk '$1 == 1' | grep -q 'tini -- sleeve-check -- claude' || fail "PID 1 is not tini"
echo "$TOP" | awk '$1 != 1 && $1 != "PID"' | grep -q '^ *[0-9]* *agent .*/bin/sh /usr/local/bin/claude' || fail "the command is not running as agent"
echo "$TOP" | grep -q '[0-9] .*sleeve-check health' && fail "a health check is still running" || true
echo "$TOP" | awk '$1 != 1' | grep -q 'sleeve-check --' && fail "sleeve-check is still running: it did not exec" || true
$PODMAN exec sleeve-e2e cat /home/agent/.claude.json | grep -q '"hasCompletedOnboarding": true' || fail "config flag missing"
$PODMAN logs sleeve-e2e 2>&1 | grep -q "$GOOD" && fail "the token appears in the container's log" || true
ok "tini is PID 1, claude runs as agent, the flag is in /home/agent/.claude.json"

step "2. podman healthcheck run: healthy"
health_is sleeve-e2e healthy
ok "$(health_line sleeve-e2e)"

step "3. the token is revoked at the API while the sleeve runs: unhealthy within one TTL (${TTL}s)"
fake "$GOOD" revoked
sleep $((TTL + 1))
health_is sleeve-e2e unhealthy
LINE=$(health_line sleeve-e2e)
echo "$LINE" | grep -q '^unhealthy: the credential has been revoked' || fail "health line: $LINE"
echo "$LINE" | grep -q "$GOOD" && fail "the token appears in the health output" || true
ok "$LINE"

step "4. podman stop ends the container promptly"
T0=$(date +%s%N)
$PODMAN stop -t 10 sleeve-e2e >/dev/null
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
[ "$MS" -lt 5000 ] || fail "podman stop took ${MS} ms"
$PODMAN logs sleeve-e2e 2>&1 | grep -q "claude stand-in: got SIGTERM" || fail "the command did not get SIGTERM"
ok "stopped in ${MS} ms; the command got SIGTERM through tini"

step "5. an expired credentials file mounted read-only: the container exits at once with code 6"
CRED=$(mktemp)
printf '{"claudeAiOauth":{"accessToken":"%s","refreshToken":"sk-ant-ort01-e2eRefresh","expiresAt":1600000000000,"scopes":["user:inference"]}}' "$OLD" >"$CRED"
chmod 0644 "$CRED"
set +e
OUT=$($PODMAN run --rm --network host $RUNFLAGS -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-v "$CRED:/home/agent/.claude/.credentials.json:ro" "$IMAGE" 2>&1)
RC=$?
set -e
rm -f "$CRED"
echo "$OUT"
[ "$RC" = 6 ] || fail "exit code $RC, want 6"
[ "$(echo "$OUT" | grep -c '^sleeve-check: error:')" = 1 ] || fail "want one error line"
echo "$OUT" | grep -q 'expired .* and the file is on a read-only mount, so Claude Code cannot store a refreshed token' || fail "reason missing"
echo "$OUT" | grep -q "$OLD" && fail "the token appears in the log" || true
ok "exit 6, one line naming the read-only mount"

step "6. started as root with SLEEVE_CHECK_USER=agent: the command still runs as agent"
$PODMAN run -dit --name sleeve-e2e-root --network host $RUNFLAGS $STAND_IN --user 0 \
	-e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" -e SLEEVE_CHECK_USER=agent \
	-e SLEEVE_CHECK_PROBE=off "$IMAGE" >/dev/null
wait_log "$PODMAN" sleeve-e2e-root "claude stand-in: started as uid 1000 (agent)"
$PODMAN exec sleeve-e2e-root stat -c %U /home/agent/.claude.json | grep -qx agent || fail "config not owned by agent"
ok "root start, agent command, agent-owned config"

step "6b. started without -it, as Envoy and a plain docker run do: claude would fall into print mode with no prompt; the start stops with 3 and the fix"
set +e
OUT=$($PODMAN run --rm --network host $RUNFLAGS $STAND_IN -e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s "$IMAGE" 2>&1)
rc=$?
set -e
[ "$rc" = 3 ] || fail "exit $rc without a terminal, want 3: $OUT"
echo "$OUT" | grep -q 'error: claude (standard output is not a terminal, so it runs in print mode) has no prompt' || fail "no stop without a terminal: $OUT"
echo "$OUT" | grep -q 'hint: give the sleeve a terminal: docker run -it' || fail "no hint: $OUT"
echo "$OUT" | grep -q 'claude stand-in: started' && fail "the command ran: $OUT"
ok "without -it: exit 3 before the command, with the fix for each launcher"

step "7. the image with the real Claude Code CLI ($(cat e2e/fixtures/claude-version)): claude -p through the entrypoint answers from the fake"
SIZE=$($PODMAN image inspect "$IMAGE" --format '{{.Size}}')
fake "$GOOD" valid "Hello from the fake API"
OUT=$($PODMAN run --rm --network host $RUNFLAGS -e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s "$IMAGE" claude -p "say hi" 2>&1 | grep -v 'level=error.*systemd')
echo "$OUT"
echo "$OUT" | grep -qx "Hello from the fake API" || fail "claude -p in the image did not answer"
echo "$OUT" | grep -q "$GOOD" && fail "the token appears in the log" || true
ok "image with the real CLI: $((SIZE / 1048576)) MiB; claude -p answered through tini and sleeve-check"

# kube play and podman-compose run podman themselves: give them this
# machine's runtime settings.
CONTAINERS_CONF=$E2E_TMP/containers.conf
printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' >"$CONTAINERS_CONF"
export CONTAINERS_CONF

step "8. deploy/kubernetes/sleeve.yaml with podman kube play: the pod starts, the exec probes run as health checks, a revoked token turns it unhealthy"
KUBE=$E2E_TMP/kube
mkdir -p "$KUBE"
KTOK=$(fake_token oat01 kube)
fake "$KTOK" valid
# The manifest as written, with the image built above, the fake API, and a
# short health TTL. podman 4.3 takes a Secret only as a podman secret whose
# data is a Secret document, and mounts its data values without decoding
# them: it gets the token as is.
awk '/^---$/ { d++; next } d == 1' deploy/kubernetes/sleeve.yaml |
	sed -e "s|image: sleeve:latest|image: $IMAGE|" \
		-e "s|^      env:$|      env:\n        - {name: ANTHROPIC_BASE_URL, value: \"$FAKE_URL\"}\n        - {name: SLEEVE_CHECK_HEALTH_TTL, value: \"${TTL}s\"}\n        - {name: SLEEVE_CHECK_PROBE_SPLAY, value: \"0s\"}|" >"$KUBE/pod.yaml"
grep -q 'kind: Secret' deploy/kubernetes/sleeve.yaml && grep -q 'secretName: claude-token' "$KUBE/pod.yaml" || fail "the manifest has no Secret for the pod"
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: claude-token\ndata:\n  token: %s\n' "$KTOK" >"$KUBE/secret.yaml"
podman secret rm claude-token >/dev/null 2>&1 || true
podman secret create claude-token "$KUBE/secret.yaml" >/dev/null
kube_down() { podman kube down "$KUBE/pod.yaml" >/dev/null 2>&1 || true; podman secret rm claude-token >/dev/null 2>&1 || true; }
on_exit kube_down
podman kube play --network host "$KUBE/pod.yaml" >"$E2E_TMP/kube.log" 2>&1 || { cat "$E2E_TMP/kube.log" >&2; fail "podman kube play failed"; }
wait_log podman sleeve-1-sleeve 'ok: oauth_token from CLAUDE_CODE_OAUTH_TOKEN_FILE' 20
podman top sleeve-1-sleeve user args | grep -q '^agent .*claude --dangerously-skip-permissions' || fail "claude is not running as agent in the pod: $(podman top sleeve-1-sleeve user args)"
health_is sleeve-1-sleeve healthy
ok "the pod runs claude as agent; its liveness probe, run as a health check: $(health_line sleeve-1-sleeve)"
fake "$KTOK" revoked
sleep $((TTL + 1))
health_is sleeve-1-sleeve unhealthy
ok "revoked: $(health_line sleeve-1-sleeve)"
echo "  not emulated by podman kube play 4.3: the startupProbe (ignored), restarting on a failed liveness"
echo "  probe (podman only marks the container unhealthy), probe timing (run by hand here: no systemd timers),"
echo "  Secret documents and stringData (given as a podman secret, above)"
kube_down

step "9. deploy/compose.yaml: podman-compose reads it; its plan, run, starts the sleeve with its secret file, a terminal and the health check"
COMPOSE=$E2E_TMP/compose
mkdir -p "$COMPOSE/work/1" && cp deploy/compose.yaml "$COMPOSE/compose.yaml"
chmod 0777 "$COMPOSE/work/1"
for n in 1 2 3; do printf '%s\n' "$GOOD" >"$COMPOSE/claude_token_$n.txt"; done && chmod 0644 "$COMPOSE"/claude_token_*.txt
fake "$GOOD" valid
# The file as written, plus the fake API on the host's loopback.
printf 'services:\n  sleeve-1:\n    network_mode: host\n    environment:\n      ANTHROPIC_BASE_URL: "%s"\n      SLEEVE_CHECK_PROBE_SPLAY: "0s"\n' "$FAKE_URL" >"$COMPOSE/e2e.yaml"
podman_compose() { (cd "$COMPOSE" && SLEEVE_IMAGE=$IMAGE podman-compose -f compose.yaml -f e2e.yaml "$@"); }
on_exit "podman rm -f compose_sleeve-1_1 >/dev/null 2>&1"
podman_compose --dry-run up -d >"$E2E_TMP/compose-plan.log" 2>&1 || { cat "$E2E_TMP/compose-plan.log" >&2; fail "podman-compose cannot read deploy/compose.yaml"; }
grep -q -- '--tty' "$E2E_TMP/compose-plan.log" && grep -q -- '-i ' "$E2E_TMP/compose-plan.log" && grep -q '/run/secrets/claude_token' "$E2E_TMP/compose-plan.log" ||
	fail "podman-compose does not read a terminal and the secret from deploy/compose.yaml: $(cat "$E2E_TMP/compose-plan.log")"
# podman-compose 1.0.3 (Debian's) adds its own network to a network_mode:
# host service, which podman refuses; so the container is started with the
# podman run that podman-compose itself planned for the file, without that
# network (a bridge could not reach the fake API on loopback anyway).
RUN=$(grep '^podman run .*compose_sleeve-1_1' "$E2E_TMP/compose-plan.log" | sed -E 's/ --net [^ ]+ --network-alias [^ ]+//')
(cd "$COMPOSE" && eval "$RUN") >"$E2E_TMP/compose.log" 2>&1 || { cat "$E2E_TMP/compose.log" >&2; fail "the planned podman run failed: $RUN"; }
C=compose_sleeve-1_1
[ -n "$C" ] || { cat "$E2E_TMP/compose.log" >&2; fail "no sleeve-1 container"; }
wait_log podman "$C" 'ok: oauth_token from CLAUDE_CODE_OAUTH_TOKEN_FILE' 20
health_is "$C" healthy
ok "compose: $(health_line "$C")"
podman rm -f "$C" >/dev/null 2>&1 || true

step "10. deploy/kubernetes/gateway.yaml with podman kube play: the gateway Deployment holds the fleet token, two sleeve Pods only their keys; both healthy through it, claude -p answers through it, the token is in no sleeve, a revoked name turns only that sleeve unhealthy"
T10=$(date +%s%N)
install_packages jq
GK=$E2E_TMP/kube-gateway
mkdir -p "$GK"
GTOK=$(fake_token oat01 kubeGateway)
GREPLY="Hello through the kube gateway"
fake "$GTOK" valid "$GREPLY" >/dev/null
GSECRET=$(head -c 32 /dev/urandom | base64)
GW=sleeve-gateway-pod-0-gateway S1=sleeve-1-sleeve S2=sleeve-2-sleeve
# The file as written: the Secret sleeve-gateway (the fleet token, the
# gateway secret) is mounted by the gateway's Deployment and nothing else.
grep -c 'secretName: sleeve-gateway$' deploy/kubernetes/gateway.yaml | grep -qx 1 &&
	awk '/^kind: /{k=$2} /secretName: sleeve-gateway$/{print k}' deploy/kubernetes/gateway.yaml | grep -qx Deployment ||
	fail "deploy/kubernetes/gateway.yaml: the Secret sleeve-gateway is not mounted by the Deployment only"
# kube_docs KIND...: the documents of gateway.yaml of those kinds, as written.
kube_docs() {
	awk -v kinds=" $* " '
		function flush() { if (doc != "" && index(kinds, " " kind " ")) printf "---\n%s", doc; doc = ""; kind = "" }
		/^---$/ { flush(); next }
		/^kind: / { kind = $2 }
		{ doc = doc $0 "\n" }
		END { flush() }' deploy/kubernetes/gateway.yaml
}
# What this step changes from the file, for podman kube play 4.3 (and why):
# - The Service and the NetworkPolicy are left out: podman has neither, and
#   no Service DNS name. Every Pod runs on the host's network (--network
#   host), as in step 8, where the fake API is (on loopback). So the gateway
#   listens on 127.0.0.1:0, not 0.0.0.0:8090 (a free port, read from its
#   log; nothing on the host's other interfaces), and the sleeves'
#   SLEEVE_CHECK_GATEWAY (http://sleeve-gateway:8090, the Service) is that
#   address.
# - The gateway's ports: block is left out: podman refuses port mappings on
#   the host network.
# - The image is the one built above; the gateway gets ANTHROPIC_BASE_URL,
#   the fake.
# - The Secret documents (placeholders) are given as podman secrets holding
#   Secret documents with the real values, as in step 8 (podman mounts data
#   values as they are, and writes them into a named volume of the secret's
#   name, which kube down leaves: removed here). The keys are printed by
#   `sleeve-check gateway key NAME` in the running gateway, as the file's
#   `kubectl exec deploy/sleeve-gateway` does, so the sleeves are played
#   after it (Kubernetes would have them wait for their Secrets).
# - The ConfigMap is played as written: podman makes it a volume, into whose
#   folder this step writes the revoked name, as the kubelet updates a
#   ConfigMap's mounted file (atomically).
kube_docs ConfigMap Deployment |
	sed -e "s|image: sleeve:latest|image: $IMAGE|" \
		-e 's|"--listen", "0.0.0.0:8090"|"--listen", "127.0.0.1:0"|' \
		-e "s|^          env:$|          env:\n            - {name: ANTHROPIC_BASE_URL, value: \"$FAKE_URL\"}|" |
	awk '/^          ports:$/ { skip = 3 } skip > 0 { skip--; next } { print }' >"$GK/gateway.yaml"
grep -q '"127.0.0.1:0"' "$GK/gateway.yaml" && ! grep -q 'containerPort' "$GK/gateway.yaml" && grep -q 'kind: ConfigMap' "$GK/gateway.yaml" ||
	fail "the gateway's documents did not take this step's changes: $(cat "$GK/gateway.yaml")"
GK_SECRETS="sleeve-gateway sleeve-1-gateway-key sleeve-2-gateway-key"
GK_VOLUMES="$GK_SECRETS sleeve-gateway-revoked sleeve-1-workspace sleeve-2-workspace"
gateway_kube_down() {
	for y in "$GK/sleeves.yaml" "$GK/gateway.yaml"; do
		[ -s "$y" ] && podman kube down "$y" >/dev/null 2>&1 || true
	done
	# (kube down can fail on a container in its restart loop.)
	for n in sleeve-1 sleeve-2 sleeve-gateway-pod-0; do podman pod rm -f "$n" >/dev/null 2>&1 || true; done
	for n in $GK_SECRETS; do podman secret rm "$n" >/dev/null 2>&1 || true; done
	for n in $GK_VOLUMES; do podman volume rm -f "$n" >/dev/null 2>&1 || true; done
}
gateway_kube_down
on_exit gateway_kube_down
# On a failure, the containers' own account.
gateway_kube_logs() {
	[ "$E2E_RC" = 0 ] && return 0
	for c in $GW $S1 $S2; do
		printf -- '--- podman logs %s (last 20 lines):\n' "$c"
		podman logs --tail 20 "$c" 2>&1 | grep -v 'level=error.*systemd' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | cut -c1-400
	done >&2
}
on_exit gateway_kube_logs
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: sleeve-gateway\ndata:\n  claude-token: "%s"\n  gateway-secret: "%s"\n' "$GTOK" "$GSECRET" >"$GK/secret.yaml"
podman secret create sleeve-gateway "$GK/secret.yaml" >/dev/null
N0=$(curl -fsS "$FAKE_URL/_fake/requests" | jq length)
podman kube play --network host "$GK/gateway.yaml" >"$E2E_TMP/kube-gateway.log" 2>&1 || { cat "$E2E_TMP/kube-gateway.log" >&2; fail "podman kube play of the gateway failed"; }
wait_log podman $GW 'gateway: listening on http://127.0.0.1:' 20
GWADDR=$(podman logs $GW 2>&1 | sed -n 's|.*gateway: listening on http://\(127\.0\.0\.1:[0-9]*\).*|\1|p' | head -1)
[ -n "$GWADDR" ] || fail "no address in the gateway's log: $(podman logs $GW 2>&1)"
podman top $GW user args | grep -q '^agent .*sleeve-check gateway' || fail "the gateway does not run as agent: $(podman top $GW user args)"
gw_status() { curl -fsS "http://$GWADDR/status"; }
wait_until -show gw_status 30 "the gateway's /status to say its one probe found the credential valid" sh -c "curl -fsS http://$GWADDR/status | jq -e '.credential.verdict == \"valid\" and .credential.from == \"probe\"' >/dev/null"
for n in 1 2; do
	podman exec $GW sleeve-check gateway key sleeve-$n >"$GK/key-$n" 2>"$GK/key.err" || { cat "$GK/key.err" >&2; fail "sleeve-check gateway key sleeve-$n in the gateway"; }
	grep -qxE "scgw1\.sleeve-$n\.[0-9a-f]{40}" "$GK/key-$n" || fail "gateway key sleeve-$n printed: $(cat "$GK/key-$n")"
	printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: sleeve-%s-gateway-key\ndata:\n  key: "%s"\n' $n "$(cat "$GK/key-$n")" >"$GK/key-$n.yaml"
	podman secret create sleeve-$n-gateway-key "$GK/key-$n.yaml" >/dev/null
done
K1=$(cat "$GK/key-1")
ok "the gateway runs as agent on $GWADDR (the file's 0.0.0.0:8090, here a free loopback port); /status: $(gw_status | jq -c '.credential | {verdict, from}'); keys printed in it (podman exec, the file's kubectl exec)"

kube_docs Pod | sed -e "s|image: sleeve:latest|image: $IMAGE|" -e "s|value: http://sleeve-gateway:8090$|value: http://$GWADDR|" >"$GK/sleeves.yaml"
[ "$(grep -c "value: http://$GWADDR$" "$GK/sleeves.yaml")" = 2 ] || fail "the sleeves' SLEEVE_CHECK_GATEWAY was not rewritten: $(grep -A1 SLEEVE_CHECK_GATEWAY "$GK/sleeves.yaml")"
podman kube play --network host "$GK/sleeves.yaml" >>"$E2E_TMP/kube-gateway.log" 2>&1 || { cat "$E2E_TMP/kube-gateway.log" >&2; fail "podman kube play of the sleeves failed"; }
for c in $S1 $S2; do
	wait_log podman $c "key for the gateway" 30
	podman top $c user args | grep -q '^agent .*claude --dangerously-skip-permissions' || fail "claude is not running as agent in $c: $(podman top $c user args)"
	health_is $c healthy
done
ws() { podman inspect "$1" --format '{{range .Mounts}}{{if eq .Destination "/home/agent/workspace"}}{{.Source}}{{end}}{{end}}'; }
[ -n "$(ws $S1)" ] && [ "$(ws $S1)" != "$(ws $S2)" ] || fail "the sleeves share a workspace: $(ws $S1)"
ok "both sleeves run claude as agent, each in its own workspace; health through the gateway: $S1 '$(health_line $S1)', $S2 '$(health_line $S2)'"

OUT=$(podman exec -u agent $S1 sleeve-check --quiet -- claude -p hello 2>&1 | grep -v 'level=error.*systemd')
echo "$OUT" | grep -qx "$GREPLY" || fail "claude -p in $S1 did not answer through the gateway: $OUT"
# Only the gateway reached the fake, with the fleet token, for Claude Code.
LAST4=$(printf %s "$GTOK" | tail -c 4)
SEEN=$(curl -fsS "$FAKE_URL/_fake/requests" | jq -c --argjson n "$N0" '.[$n:]')
echo "$SEEN" | jq -e '[.[] | select(.path == "/v1/messages")] | length >= 2' >/dev/null || fail "the fake saw no probe and answer: $SEEN"
BAD=$(echo "$SEEN" | jq -c --arg c "bearer ...$LAST4" '[.[] | select(.path != "/api/hello") | select(.credential != $c or (.user_agent | startswith("claude-cli/") | not))]')
[ "$BAD" = "[]" ] || fail "the fake saw a request without the fleet token, or not from Claude Code: $BAD"
gw_status | jq -e '.sleeves["sleeve-1"].requests >= 1' >/dev/null || fail "/status has no request of sleeve-1: $(gw_status)"
# claude on its own, as an agent would start it (a new process, not the
# sleeve's claude's child): the container holds no credential for it.
OWN=$(podman exec -u agent $S1 timeout 60 claude -p hello 2>&1) && fail "claude -p without sleeve-check answered in $S1: $OWN"
echo "$OWN" | grep -q "$GREPLY" && fail "claude -p without sleeve-check answered in $S1: $OWN"
ok "podman exec -u agent $S1 sleeve-check -- claude -p hello: '$GREPLY' (the fake saw 'bearer ...$LAST4' from claude-cli/ only); claude -p alone: '$(echo "$OWN" | head -1)'"

# The fleet token and the gateway secret in no sleeve: every process's
# environment and command line (read on the host, as root, at
# /proc/HOST_PID), podman inspect of the container and of its pod's infra
# container, its log, and every folder mounted into it. The hunt must find
# sleeve-1's own key in claude's environment: it sees what it would have to.
PROCS=0 OWNKEY=
for c in $S1 $S2; do
	for p in $(podman top $c hpid | tail -n +2); do
		for f in environ cmdline; do
			[ -r /proc/$p/$f ] || continue
			PROCS=$((PROCS + 1))
			grep -qF -e "$GTOK" -e "$GSECRET" /proc/$p/$f && fail "the fleet token or the gateway secret is in /proc/$p/$f of $c ($(tr '\0' ' ' </proc/$p/cmdline | cut -c1-60))"
			[ $c = $S1 ] && [ $f = environ ] && grep -qF "$K1" /proc/$p/$f && OWNKEY="$OWNKEY $(tr '\0' ' ' </proc/$p/cmdline | cut -c1-30)"
		done
	done
	INFRA=$(podman pod inspect ${c%-sleeve} --format '{{.InfraContainerID}}')
	{ podman inspect $c "$INFRA"; podman logs $c 2>&1; } >"$GK/seen"
	grep -qF -e "$GTOK" -e "$GSECRET" "$GK/seen" && fail "the fleet token or the gateway secret is in podman inspect or logs of $c"
	for m in $(podman inspect $c --format '{{range .Mounts}}{{.Source}}{{"\n"}}{{end}}'); do
		grep -rqsF -e "$GTOK" -e "$GSECRET" "$m" && fail "the fleet token or the gateway secret is in $m, mounted into $c"
	done
	podman inspect $c --format '{{range .Mounts}}{{.Name}} {{end}}' | grep -qw sleeve-gateway && fail "the gateway's Secret is mounted into $c"
done
[ -n "$OWNKEY" ] || fail "the hunt did not find sleeve-1's own key in any environment of $S1 (it would not see the token either)"
gw_status | grep -qF -e "$GTOK" -e "$GSECRET" -e "$K1" && fail "a secret is in the gateway's /status"
ok "no fleet token nor gateway secret in $PROCS /proc environ and cmdline files of the sleeves, their inspect, logs and mounts; sleeve-1's own key found, as it should be, in the environment of:$OWNKEY"

# The ConfigMap's file, as the kubelet updates it: a new file in its place.
B1=$(podman inspect $S1 --format '{{.State.StartedAt}} {{.RestartCount}}')
RV=$(podman volume inspect sleeve-gateway-revoked --format '{{.Mountpoint}}')
printf '# revoked by make e2e-container\nsleeve-2\n' >"$RV/.sleeves.new" && mv "$RV/.sleeves.new" "$RV/sleeves"
revoked() { ! $PODMAN healthcheck run $S2 >/dev/null 2>&1 && health_line $S2 | grep -q "refused this sleeve's key.*sleeve \"sleeve-2\" is revoked"; }
wait_until -show "health_line $S2" 10 "$S2's health to say it is revoked" revoked
LINE2=$(health_line $S2)
health_is $S1 healthy
# A start in the revoked sleeve (what the kubelet's restart runs) stops at
# once with exit 6, the key refused.
set +e
OUT=$(podman exec -u agent $S2 sleeve-check -- claude -p hello 2>&1)
RC=$?
set -e
[ "$RC" = 6 ] && echo "$OUT" | grep -q "error: the gateway .* refused this sleeve's key" || fail "a start in the revoked $S2 exited $RC, want 6 and the refusal: $OUT"
# Two more failed checks make the liveness probe's failureThreshold (3):
# podman 4.3 then stops the container to restart it (kube play gives a
# liveness probe --health-on-failure=restart, as the kubelet restarts it);
# each start in it then exits 6, and restartPolicy Always starts it again:
# the kubelet's CrashLoopBackOff, without the backoff (so it is stopped
# once seen).
S2WAS=$(podman inspect $S2 --format '{{.State.StartedAt}}')
health_is $S2 unhealthy
health_is $S2 unhealthy
# (On a failure: its state, sleeve-check's lines in its log, its health log.)
s2_state() {
	podman inspect $S2 --format '{{.State.Status}} exit {{.State.ExitCode}}, {{.State.Health.Status}}, {{.RestartCount}} restarts, started {{.State.StartedAt}}'
	podman logs $S2 2>&1 | grep -ao 'sleeve-check: [a-z]*: [^[:cntrl:]]*' | cut -c1-200 | tail -6
	podman inspect $S2 --format '{{range .State.Health.Log}}{{.Start}} exit {{.ExitCode}}: {{.Output}}{{"\n"}}{{end}}' | cut -c1-160
}
acted() { [ "$(podman inspect $S2 --format '{{.State.Status}} {{.State.StartedAt}}')" != "running $S2WAS" ]; }
wait_until -show s2_state 30 "podman to stop or restart $S2 after its liveness probe failed 3 times" acted
sleep 1
RC2=$(podman inspect $S2 --format '{{.RestartCount}}')
AGAIN="restarted $RC2 times, each start refused"
log_has podman $S2 "is revoked on this gateway" || AGAIN="stopped, not restarted yet: $(podman inspect $S2 --format '{{.State.Status}}')"
podman stop -t 2 $S2 >/dev/null 2>&1 || true
health_is $S1 healthy
[ "$(podman inspect $S1 --format '{{.State.StartedAt}} {{.RestartCount}}')" = "$B1" ] || fail "$S1 was restarted: $B1 -> $(podman inspect $S1 --format '{{.State.StartedAt}} {{.RestartCount}}')"
gw_status | jq -e '.sleeves["sleeve-2"].refused >= 1' >/dev/null || fail "/status counts no refusal of sleeve-2: $(gw_status)"
ok "sleeve-2 in the ConfigMap's file: $S2 '$(echo "$LINE2" | cut -c1-60)...$(echo "$LINE2" | sed -n 's/.*\(sleeve "sleeve-2" is revoked\)/\1/p')'; a start there exits 6; after 3 failed checks podman $AGAIN; $S1 untouched, '$(health_line $S1)'"
gateway_kube_down
echo "  not emulated by podman kube play 4.3: the Service's DNS name and the NetworkPolicy (none), the gateway's httpGet"
echo "  probes (podman runs them as curl in the container, and the image has none: /status was asked from the host),"
echo "  the startupProbe, the rollout strategy, the kubelet's update of a ConfigMap's file (written into podman's volume"
echo "  here), probe timing (run by hand: no systemd timers) [step 10: $((($(date +%s%N) - T10) / 1000000000)) s, with kube down]"

echo
echo "e2e-container: all passed"
