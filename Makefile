VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PLATFORMS := linux/amd64 linux/arm64

.PHONY: build test check release bench test-runtimes
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/crinit ./cmd/crinit

test:
	go test -race -count=1 ./...

check:
	bash .ci/run

# The example image under a real OCI runtime (runc, installed when missing).
# The cgroup v2 kernel suite (qemu) is still to come.
test-runtimes:
	command -v runc >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc >/dev/null)
	CI=true go test -tags runtimes -count=1 -run 'TestOCI' -v ./test/integration/ | tee /tmp/crinit-runtimes.log
	@awk '/--- PASS: TestOCI_[^ ]*\/R[0-9]/{p++} /--- FAIL: TestOCI_[^ ]*\/R[0-9]/{f++} END {printf "%d passed, %d failed\n", p, f; exit f > 0}' /tmp/crinit-runtimes.log

# Static binaries for every platform, version stamped, with SHA-256 sums.
release:
	rm -rf dist && mkdir -p dist
	for p in $(PLATFORMS); do \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} go build -trimpath -ldflags "$(LDFLAGS)" \
			-o dist/crinit-$(VERSION)-$${p%/*}-$${p#*/} ./cmd/crinit || exit 1; \
	done
	cd dist && sha256sum crinit-* > SHA256SUMS && cat SHA256SUMS

bench:
	bash bench/run.sh
