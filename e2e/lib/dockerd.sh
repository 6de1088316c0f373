# A private dockerd for the e2e scripts (sourced after e2e/lib/common.sh;
# only defines): Debian's docker.io with its own data root
# (/var/cache/sleeve-check-e2e/docker, outside the checkout, whose Go trees
# tools like gofmt would walk; kept so that a warm run reuses its images and
# build cache), exec root, socket and pidfile; never the system's socket.
# start_dockerd starts it; every container, network and volume is removed
# and the daemon stopped when the script ends, also on failure. The entry
# script calls engine_prepare (root, the packages, the build) first.

# engine_prepare: what every Docker engine e2e needs before its daemon:
# root, the packages (the engine, debootstrap for the base image, tmux for
# terminals, curl and jq), and this checkout's binaries.
engine_prepare() {
	need_root
	install_packages docker.io debootstrap tmux curl jq
	make -s build >/dev/null
}

# The daemon's folders (exec root, socket, pidfile): short, as a unix
# socket path is bounded. Only these scripts' daemons use the prefix.
DK_PREFIX=/tmp/sc-dk.

# start_dockerd: the daemon, after what an earlier run's daemon left
# (lib/leftovers.sh). Sets D (Debian's client), DK (its folder),
# DOCKER_HOST, DOCKER_BUILDKIT=1, DOCKER_CONFIG, ENGINE and CLIENT.
start_dockerd() {
	D=/usr/bin/docker
	DATA=${DOCKER_DATA_ROOT:-/var/cache/sleeve-check-e2e/docker}
	step "what an earlier run's private dockerd left"
	remove_leftovers "the private dockerd" "dockerd:$DATA"
	DK=$(mktemp -d "${DK_PREFIX}XXXXXX")
	export DOCKER_HOST=unix://$DK/docker.sock DOCKER_BUILDKIT=1 DOCKER_CONFIG=$DK/config
	mkdir -p "$DATA" "$DOCKER_CONFIG/cli-plugins"
	on_exit stop_dockerd
	step "a private dockerd (data root $DATA, socket $DK/docker.sock)"
	# No default bridge and no iptables rules: the tests use the host's
	# network and their own user networks, and leave the machine's as it was.
	# Containers on a user network (Envoy's raven) have no route out here:
	# outside names go to 172.30.0.2, the first container on the first
	# network, where e2e-protectorate's fake API refuses every query at
	# once (claude looks some names up as it starts; unanswered, each
	# costs the resolver's 20 s of timeouts).
	dockerd --data-root "$DATA" --exec-root "$DK/exec" --host "$DOCKER_HOST" --pidfile "$DK/docker.pid" \
		--iptables=false --ip-forward=false --bridge=none \
		--default-address-pool base=172.30.0.0/16,size=24 --dns 172.30.0.2 >"$E2E_TMP/dockerd.log" 2>&1 &
	wait_until -show "tail -20 '$E2E_TMP/dockerd.log'" 30 "dockerd to answer" docker_up
	ENGINE=$($D version --format '{{.Server.Version}} (API {{.Server.APIVersion}}), containerd {{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}}')
	CLIENT=$($D version --format '{{.Client.Version}}')
	ok "engine $ENGINE; client $CLIENT at $D"
}

docker_up() { $D info >/dev/null 2>&1; }

# stop_dockerd (on_exit of start_dockerd): every container, network and
# volume removed, the daemon stopped, its mounts undone, DK removed.
stop_dockerd() {
	[ -s "$DK/docker.pid" ] || { rm -rf "$DK"; return 0; }
	$D ps -aq 2>/dev/null | xargs -r $D rm -f >/dev/null 2>&1 || true
	$D network prune -f >/dev/null 2>&1 || true
	$D volume prune -f >/dev/null 2>&1 || true
	pid=$(cat "$DK/docker.pid")
	kill "$pid" 2>/dev/null || true
	poll_until 20 pid_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
	# What the daemon leaves mounted (its default network namespace).
	awk -v d="$DK" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$DK"
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# base_images: the local Debian base (debootstrap, cached) and the Go
# builder, in the engine (no registry here).
base_images() {
	step "base images (no registry here): the Debian base from debootstrap, the Go builder"
	PODMAN=$D ./e2e/tools/base-image.sh
	PODMAN=$D BUILD_FORMAT= GO_IMAGE="localhost/sleeve-go:$(go env GOVERSION)" ./e2e/tools/go-image.sh
}

# build_target TARGET TAG: docker build -f Dockerfile.sleeve with BuildKit,
# from the checkout, with the local base images and, as this machine's TLS
# passes an inspecting proxy, its CA bundle as a BuildKit secret.
build_target() {
	set -- "$1" "$2" --network host -f Dockerfile.sleeve \
		--build-arg GO_IMAGE="localhost/sleeve-go:$(go env GOVERSION)" \
		--build-arg BASE_IMAGE=localhost/sleeve-base:bookworm-dtach --build-arg INSTALL_PACKAGES=0 \
		--build-arg GOPROXY="$(go env GOPROXY)" --build-arg VERSION=e2e --build-arg COMMIT="$(git rev-parse --short=12 HEAD)" \
		--build-arg NPM_CONFIG_REGISTRY="$(npm config get registry)"
	t=$1 tag=$2
	shift 2
	ca=/etc/ssl/certs/ca-certificates.crt
	[ -s "$ca" ] && set -- "$@" --secret id=ca,src="$ca"
	$D build "$@" --target "$t" -t "$tag" . >>"$E2E_TMP/build.log" 2>&1 ||
		{ tail -30 "$E2E_TMP/build.log" >&2; fail "docker build --target $t failed"; }
}
