# sleeve-check. `make demo` runs the whole flow on loopback; `make test` runs the tests.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X sleeve-check/entrypoint/internal/buildinfo.Version=$(VERSION) -X sleeve-check/entrypoint/internal/buildinfo.Commit=$(COMMIT)
GO      ?= go
# sleeve-check runs in Linux containers: make build builds for Linux on any
# host (a Mac too), for GOARCH (the host's by default; arm64 for Apple silicon).
GOARCH  ?= $(shell $(GO) env GOARCH)
# Static, reproducible binaries.
GOBUILD := CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags '$(LDFLAGS)'
RELEASE_ARCHES := amd64 arm64
# A count, not a duration: with -fuzztime 5s Go 1.26's fuzz coordinator
# can fail a run at the deadline with a bare "context deadline exceeded"
# and no failing input (golang/go#75804, fixed in Go 1.27); seen here once
# on FuzzParseAPIError. A count has no deadline to race.
FUZZTIME ?= 10000x

.PHONY: build release image test-arm64 test fuzz demo bench bench-probe bench-fleet bench-gateway clean e2e-container e2e-docker e2e-gateway e2e-protectorate e2e-claude e2e-claude-matrix

build:
	GOARCH=$(GOARCH) $(GOBUILD) -o bin/sleeve-check ./cmd/sleeve-check
	GOARCH=$(GOARCH) $(GOBUILD) -o bin/fake-anthropic ./cmd/fake-anthropic
	@ls -l bin/sleeve-check | awk '{printf "bin/sleeve-check: %.1f MiB\n", $$5/1048576}'

# Release binaries for every architecture, and their checksums in the
# sha256sum -c format: dist/sleeve-check-linux-ARCH, dist/SHA256SUMS.
release:
	rm -rf dist && mkdir -p dist
	for a in $(RELEASE_ARCHES); do GOARCH=$$a $(GOBUILD) -o dist/sleeve-check-linux-$$a ./cmd/sleeve-check || exit 1; done
	cd dist && sha256sum sleeve-check-linux-* >SHA256SUMS && sha256sum -c SHA256SUMS
	@cat dist/SHA256SUMS

# Dockerfile.sleeve from a clean checkout, with local base images:
# sleeve:VERSION and sleeve-check:VERSION (FROM scratch).
image:
	./scripts/image.sh

# The arm64 release under qemu user emulation (Debian's qemu-user-static;
# no binfmt_misc needed): every package's tests built for arm64, then the
# CLI tests and the testscript suite against the arm64 binary.
test-arm64: release
	./scripts/test-arm64.sh

# The README's test command: format, vet, all tests under the race
# detector, and a short run of every fuzz target.
test:
	@test -z "$$(git ls-files '*.go' | xargs gofmt -l)" || { echo "gofmt needed:"; git ls-files '*.go' | xargs gofmt -l; exit 1; }
	$(GO) vet ./...
	# Builds and vets on macOS too: Linux-only files carry //go:build linux.
	GOOS=darwin $(GO) vet ./...
	# The real Claude Code CLI proves subscription tokens (--probe=auto),
	# so the tests run it: the pinned release, installed into .cache/.
	SLEEVE_CHECK_TEST_CLAUDE=$$(./e2e/tools/install-claude.sh) && export SLEEVE_CHECK_TEST_CLAUDE && $(GO) test -race -count=1 ./...
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)
	$(MAKE) build
	./scripts/demo-check.sh

fuzz:
	$(GO) test ./check -run '^$$' -fuzz '^FuzzParseCredentials$$' -fuzztime $(FUZZTIME)
	$(GO) test ./check -run '^$$' -fuzz '^FuzzCheckToken$$' -fuzztime $(FUZZTIME)
	$(GO) test ./check/probe -run '^$$' -fuzz '^FuzzParseAPIError$$' -fuzztime $(FUZZTIME)
	$(GO) test ./check/probe -run '^$$' -fuzz '^FuzzParseUsage$$' -fuzztime $(FUZZTIME)
	$(GO) test ./entrypoint/claudeconfig -run '^$$' -fuzz '^FuzzEditJSON$$' -fuzztime $(FUZZTIME)

demo: build
	./scripts/demo.sh

# Whole-process cost of sleeve-check against the loopback fake.
bench-probe: build
	$(GO) test ./cmd/sleeve-check -run '^$$' -bench 'BenchmarkProcess|BenchmarkTrue' -benchtime 200x -count 1

clean:
	rm -rf bin dist

# A real container (podman, Debian packages) against the loopback fake API.
e2e-container:
	./e2e/container.sh

# The sleeve image on the Docker engine (Debian's docker.io, a private
# dockerd): docker build with BuildKit, docker run, health by Docker's
# scheduler, compose v2 with three sleeves, the restart policy.
e2e-docker:
	./e2e/docker.sh

# deploy/gateway/compose.yaml on the Docker engine: a credential gateway and
# three sleeves that hold only their keys, with the real CLI; the hunt for
# the token in a sleeve, a revoked key, the gateway stopped and started.
e2e-gateway:
	./e2e/gateway.sh

# The protectorate image spawned as Protectorate's Envoy spawns a sleeve,
# on the Docker engine, attached to as Envoy's terminal does.
e2e-protectorate:
	./e2e/protectorate.sh

# The real Claude Code CLI (version in e2e/fixtures/claude-version), in tmux.
e2e-claude:
	./e2e/claude.sh

# The unattended-start cases against every release in e2e/fixtures/claude-releases
# (MATRIX_RELEASES="2.0.76 2.1.332" picks some), as a table.
e2e-claude-matrix:
	./e2e/claude-matrix.sh

# What sleeve-check costs against the alternatives, in one run: BENCHMARKS.md.
bench:
	./e2e/bench.sh

# The probe by credential, twelve sleeves starting together, and (with the
# image from make image or make e2e-container) the time to claude's prompt.
bench-fleet:
	./e2e/bench-fleet.sh

# The credential gateway against the upstream directly and against nginx
# doing the same job, side by side on loopback: latency added, the first
# streamed event, memory with 12 streams open.
bench-gateway:
	./e2e/bench-gateway.sh
