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
	container:compose_sleeve-1_1 secret:claude-token

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

echo
echo "e2e-container: all passed"
