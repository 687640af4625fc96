# owl: the two commands are `make up` (run everything) and `make test`.
GO       ?= go
TOOLS    := $(GO) tool -modfile=tools/go.mod
PKGS     := ./...
ARGS     ?=

.PHONY: proto up build test test-go test-e2e check fmt-check vet staticcheck lint fuzz-seeds bench-once bench w3c-suite json-floor tidy-check clean

## up: run the whole platform in one process (owl up); pass flags with ARGS="--addr 127.0.0.1:9090"
up:
	$(GO) run ./cmd/owl up $(ARGS)

## build: build bin/owl
build:
	$(GO) build -o bin/owl ./cmd/owl

## test: every test: Go tests with the race detector (real PostgreSQL) and the browser tests
test: test-go test-e2e

test-go:
	@scripts/ensure-postgres.sh
	@scripts/ensure-prometheus.sh
	$(GO) test -race -count=1 $(PKGS)

test-e2e: build
	@scripts/ensure-browser.sh
	cd e2e && OWL_BIN=$(CURDIR)/bin/owl npm test

## check: make test plus formatting, vet, staticcheck, golangci-lint, fuzz seeds, benchmarks once and a go mod tidy check
check: test fmt-check vet staticcheck lint fuzz-seeds bench-once tidy-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(TOOLS) staticcheck $(PKGS)

lint:
	$(TOOLS) golangci-lint run --max-issues-per-linter=0 --max-same-issues=0 $(PKGS)

## fuzz-seeds: run every fuzz target over its seed corpus (testdata/fuzz)
fuzz-seeds:
	$(GO) test -count=1 -run='^Fuzz' $(PKGS)

## bench-once: every benchmark once, so none can rot; long ones skip under -short
bench-once:
	$(GO) test -count=1 -short -run='^$$' -bench=. -benchtime=1x $(PKGS)

## bench: the benchmarks in earnest
bench:
	$(GO) test -count=1 -run='^$$' -bench=. -benchmem $(PKGS)

## w3c-suite: run the W3C trace-context test suite against owl (W3C_SUITE_DIR=the suite's test/ folder; downloads nothing)
w3c-suite:
	W3C_SUITE_DIR=$(W3C_SUITE_DIR) scripts/w3c-suite.sh

## json-floor: time owl's session request decoder against simdjson on the same body (needs g++ and libsimdjson-dev)
json-floor:
	scripts/json-floor/run.sh

tidy-check:
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff

clean:
	rm -rf bin e2e/artifacts

## proto: regenerate the Go code of the .proto schemas (needs protoc: apt-get install protobuf-compiler)
proto:
	@command -v protoc >/dev/null || { echo "protoc is missing: install it with 'apt-get install protobuf-compiler'"; exit 1; }
	$(GO) build -modfile=tools/go.mod -o bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	protoc --plugin=protoc-gen-go=bin/protoc-gen-go --go_out=. --go_opt=module=github.com/owlstack/owl internal/course/snapshot/snapshotpb/snapshot.proto

## release: version-stamped static binaries for linux/amd64 and linux/arm64 in bin/release (VERSION=v1.2.3)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
RELEASE_PLATFORMS := linux/amd64 linux/arm64
.PHONY: release
release:
	@mkdir -p bin/release
	@for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; out=bin/release/owl-$(VERSION)-$$os-$$arch; \
		echo "building $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $$out ./cmd/owl || exit 1; \
	done
	cd bin/release && sha256sum owl-$(VERSION)-* > SHA256SUMS-$(VERSION)
