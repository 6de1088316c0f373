# Shared helpers of the e2e scripts (sourced).
. "$ROOT/scripts/fake-token.sh"
PODMAN="podman --runtime runc --cgroup-manager cgroupfs"
RUNFLAGS="--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"
FAKE_PID=
E2E_TMP=$(mktemp -d)

step() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

cleanup() {
	rc=$?
	if command -v cleanup_extra >/dev/null 2>&1; then cleanup_extra; fi
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
	# Processes killed just now (a claude in tmux) may still be writing
	# their last files: retry before giving up on the folder.
	for _ in 1 2 3 4 5; do rm -rf "$E2E_TMP" 2>/dev/null && break; sleep 1; done
	exit $rc
}
trap cleanup EXIT INT TERM

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
	FAKE_PID=$!
	i=0
	while [ ! -s "$E2E_TMP/url" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "the fake API did not start"; sleep 0.05
	done
	FAKE_URL=$(cat "$E2E_TMP/url")
}

# wait_log CONTAINER TEXT: until the container's log has TEXT (10 s).
wait_log() {
	i=0
	until $PODMAN logs "$1" 2>&1 | grep -qF "$2"; do
		i=$((i + 1))
		[ $i -gt 100 ] && { $PODMAN logs "$1" >&2; fail "no \"$2\" in the log of $1"; }
		sleep 0.1
	done
}

# health_is CONTAINER healthy|unhealthy: run the HEALTHCHECK once; podman
# healthcheck run exits 0 when it passed, 1 when it failed.
health_is() {
	if $PODMAN healthcheck run "$1" >/dev/null 2>&1; then got=healthy; else got=unhealthy; fi
	[ "$got" = "$2" ] || fail "health of $1 is $got, want $2: $(health_line "$1")"
}

# health_line CONTAINER: the last health check's output.
health_line() {
	$PODMAN inspect "$1" --format '{{range .State.Health.Log}}{{.Output}}{{"\n"}}{{end}}' 2>/dev/null | grep -v '^$' | tail -1
}
