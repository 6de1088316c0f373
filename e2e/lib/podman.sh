# podman as this machine runs it (sourced after e2e/lib/common.sh; only
# defines): runc with cgroupfs, and rlimits no higher than the machine's.
PODMAN="podman --runtime runc --cgroup-manager cgroupfs"
RUNFLAGS="--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"

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
