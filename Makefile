# Coffer build and test entry points. `make run` starts the dev cluster, `make test`
# runs every unit and integration test with the race detector plus the lint checks.

GO        ?= go
BIN       := bin/coffer
PKGS      := ./...
# Go test flags for the main test tier. `invariants` enables expensive assertions.
TESTFLAGS ?= -race -tags invariants -timeout 15m
# How long each fuzz target runs under `make fuzz`.
FUZZTIME  ?= 20s
BENCHFLAGS ?= -run '^$$' -bench . -benchmem -count 1

.PHONY: all build run test lint vet fmt-check bench fuzz clean tools

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN) ./cmd/coffer

run: build
	$(BIN) dev --data ./data

# The whole gate: formatting, vet, the layering and package-doc tests, then every
# package's tests under the race detector.
test: lint
	$(GO) test $(TESTFLAGS) $(PKGS)

lint: fmt-check vet
	$(GO) test -count=1 ./tests/ -run 'TestLint'

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags invariants $(PKGS)

bench:
	$(GO) test $(BENCHFLAGS) $(PKGS)

# Runs every fuzz target for FUZZTIME each. Targets are found with `go test -list`.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

clean:
	rm -rf bin
