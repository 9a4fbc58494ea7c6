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

# The example image under a real OCI runtime (runc) and crinit on a real
# cgroup v2 kernel (qemu): each scenario named, then "N passed, N failed".
# Installs runc, qemu, cpio and busybox-static when missing; the kernel is
# extracted into a cache folder, never installed.
test-runtimes:
	@missing=""; for c in runc:runc qemu-system-x86_64:qemu-system-x86 cpio:cpio busybox:busybox-static; do \
		command -v $${c%%:*} >/dev/null || missing="$$missing $${c#*:}"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@CI=true go test -tags runtimes -count=1 -run 'TestOCI|TestV2' -v ./test/integration/ >/tmp/crinit-runtimes.log 2>&1; \
	status=$$?; grep -E '^\s*--- |^(ok|FAIL)' /tmp/crinit-runtimes.log; [ $$status = 0 ] || cat /tmp/crinit-runtimes.log; \
	awk '/--- PASS: Test(OCI|V2)_[^ ]*\/[RV][0-9]/{p++} /--- FAIL: Test(OCI|V2)_[^ ]*\/[RV][0-9]/{f++} \
		END {printf "%d passed, %d failed\n", p, f}' /tmp/crinit-runtimes.log; exit $$status

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
