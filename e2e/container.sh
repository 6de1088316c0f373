#!/bin/sh
# make e2e-container: the sleeve image in real containers (podman), against
# the project's fake API on loopback. Cases 1-6 use the stand-in in
# e2e/stand-in/claude as the command: they are about the container (PID 1,
# the user, health, stop), not Claude Code. Case 7 builds the image with
# the real, pinned Claude Code CLI and runs claude -p through it; make
# e2e-claude drives the real CLI interactively.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
. e2e/lib.sh

need_root
install_packages podman runc debootstrap tini curl
make -s build >/dev/null
./e2e/base-image.sh

IMAGE=localhost/sleeve:e2e
step "build Dockerfile.sleeve (base: the local debootstrap image, command: the stand-in)"
$PODMAN build --format docker -q -f Dockerfile.sleeve \
	--build-arg BASE_IMAGE=localhost/sleeve-base:bookworm --build-arg INSTALL_PACKAGES=0 \
	--build-arg CLAUDE_BIN=e2e/stand-in/claude -t "$IMAGE" . >/dev/null
SIZE=$($PODMAN image inspect "$IMAGE" --format '{{.Size}}')
echo "image $IMAGE: $((SIZE / 1048576)) MiB (base $(( $($PODMAN image inspect localhost/sleeve-base:bookworm --format '{{.Size}}') / 1048576 )) MiB)"

GOOD=$(fake_token oat01 e2e-good)
OLD=$(fake_token oat01 e2e-old0)
start_fake -token "$GOOD=valid"
TTL=4
cleanup_extra() { $PODMAN rm -f sleeve-e2e sleeve-e2e-root >/dev/null 2>&1 || true; }
cleanup_extra

step "1. a valid token: the container starts; PID 1 is tini, then the command as the sleeve user"
$PODMAN run -dit --name sleeve-e2e --network host $RUNFLAGS \
	--health-start-period 0s --health-retries 1 \
	-e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s -e SLEEVE_CHECK_HEALTH_TTL=${TTL}s "$IMAGE" >/dev/null
wait_log sleeve-e2e "claude stand-in: started as uid 1000 (agent)"
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
curl -fsS -X POST "$FAKE_URL/_fake/tokens" -d "{\"token\":\"$GOOD\",\"behavior\":\"revoked\"}"
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
$PODMAN run -dit --name sleeve-e2e-root --network host $RUNFLAGS --user 0 \
	-e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" -e SLEEVE_CHECK_USER=agent \
	-e SLEEVE_CHECK_PROBE=off "$IMAGE" >/dev/null
wait_log sleeve-e2e-root "claude stand-in: started as uid 1000 (agent)"
$PODMAN exec sleeve-e2e-root stat -c %U /home/agent/.claude.json | grep -qx agent || fail "config not owned by agent"
ok "root start, agent command, agent-owned config"

step "6b. started without -it, as Envoy and a plain docker run do: claude would fall into print mode with no prompt; the start stops with 3 and the fix"
set +e
OUT=$($PODMAN run --rm --network host $RUNFLAGS -e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s "$IMAGE" 2>&1)
rc=$?
set -e
[ "$rc" = 3 ] || fail "exit $rc without a terminal, want 3: $OUT"
echo "$OUT" | grep -q 'error: claude (standard output is not a terminal, so it runs in print mode) has no prompt' || fail "no stop without a terminal: $OUT"
echo "$OUT" | grep -q 'hint: give the sleeve a terminal: docker run -it' || fail "no hint: $OUT"
echo "$OUT" | grep -q 'claude stand-in: started' && fail "the command ran: $OUT"
ok "without -it: exit 3 before the command, with the fix for each launcher"

step "7. the image with the real Claude Code CLI ($(cat e2e/claude-version)): claude -p through the entrypoint answers from the fake"
mkdir -p claude-bin && cp "$(./e2e/install-claude.sh)" claude-bin/claude
$PODMAN build --format docker -q -f Dockerfile.sleeve \
	--build-arg BASE_IMAGE=localhost/sleeve-base:bookworm --build-arg INSTALL_PACKAGES=0 -t localhost/sleeve:e2e-real . >/dev/null
SIZE=$($PODMAN image inspect localhost/sleeve:e2e-real --format '{{.Size}}')
curl -fsS -X POST "$FAKE_URL/_fake/tokens" -d "{\"token\":\"$GOOD\",\"behavior\":\"valid\",\"reply\":\"Hello from the fake API\"}"
OUT=$($PODMAN run --rm --network host $RUNFLAGS -e CLAUDE_CODE_OAUTH_TOKEN="$GOOD" -e ANTHROPIC_BASE_URL="$FAKE_URL" \
	-e SLEEVE_CHECK_PROBE_SPLAY=0s localhost/sleeve:e2e-real claude -p "say hi" 2>&1 | grep -v 'level=error.*systemd')
echo "$OUT"
echo "$OUT" | grep -qx "Hello from the fake API" || fail "claude -p in the image did not answer"
echo "$OUT" | grep -q "$GOOD" && fail "the token appears in the log" || true
ok "image with the real CLI: $((SIZE / 1048576)) MiB; claude -p answered through tini and sleeve-check"

echo
echo "e2e-container: all passed"
