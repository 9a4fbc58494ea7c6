VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PLATFORMS := linux/amd64 linux/arm64

.PHONY: build test check release bench
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/crinit ./cmd/crinit

test:
	go test -race -count=1 ./...

check:
	bash .ci/run

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
