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

# ---- Container image and the docker-compose cluster (docker-compose.yml, deploy/) ----

IMAGE    ?= coffer:dev
# `docker compose` (plugin) when present, else the standalone docker-compose.
COMPOSE  ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
COMPOSE_PROJECT_NAME ?= coffer
export COMPOSE_PROJECT_NAME
SECRETS  := deploy/secrets
NODES    := meta1,meta2,meta3,storage1,storage2,storage3,gw1,gw2
GATEWAYS := http://127.0.0.1:8080 http://127.0.0.1:8081
# How long cluster-up waits for both gateways to answer /-/ready.
READY_TIMEOUT ?= 120
# Upper bound of the system tests (the whole test-cluster target stays under 15 min).
SYSTEM_TIMEOUT ?= 11m
# The containers run as uid 65532 with this group, which may read the secrets.
COFFER_GID ?= $(shell [ "$$(id -u)" = 0 ] && echo 65532 || id -g)
export COFFER_GID

.PHONY: image cluster-up cluster-down cluster-logs test-cluster

image: build
	docker build -t $(IMAGE) -f deploy/Dockerfile .

# Cluster secrets, written once; group-readable by COFFER_GID (root: chgrp to 65532).
$(SECRETS)/root.key:
	$(BIN) admin init-cluster --out $(SECRETS) --nodes $(NODES) --domain localhost --hosts localhost,127.0.0.1
	@chmod -R g+rX $(SECRETS)
	@if [ "$$(id -u)" = 0 ]; then chgrp -R $(COFFER_GID) $(SECRETS); fi

cluster-up: image $(SECRETS)/root.key
	$(COMPOSE) up -d
	@echo "waiting up to $(READY_TIMEOUT)s for the gateways to be ready"
	@deadline=$$(( $$(date +%s) + $(READY_TIMEOUT) )); \
	for gw in $(GATEWAYS); do \
	  until curl -fsS -o /dev/null --max-time 2 $$gw/-/ready; do \
	    if [ $$(date +%s) -ge $$deadline ]; then \
	      echo "$$gw not ready after $(READY_TIMEOUT)s"; $(COMPOSE) ps; $(COMPOSE) logs --tail 30; exit 1; \
	    fi; sleep 1; \
	  done; echo "$$gw ready"; \
	done
	@echo "Coffer cluster is up:"
	@echo "  gw1  http://127.0.0.1:8080  https://127.0.0.1:8443"
	@echo "  gw2  http://127.0.0.1:8081  https://127.0.0.1:8444"
	@echo "  virtual-host buckets: http://<bucket>-<appid>.localhost:8080, region local"
	@echo "  root credentials: $(SECRETS)/credentials (COFFER_ROOT_ACCESS_KEY/COFFER_ROOT_SECRET_KEY override)"
	@echo "  CA certificate:   $(SECRETS)/tls/ca.pem"

cluster-down:
	$(COMPOSE) down -v --remove-orphans

cluster-logs:
	$(COMPOSE) logs --tail 200 -f

# System tests against the compose cluster. The cluster is torn down whatever happens
# (failure, Ctrl-C, SIGTERM): the trap runs cluster-down on every exit.
test-cluster:
	@trap '$(MAKE) --no-print-directory cluster-down' EXIT; trap 'exit 130' INT TERM; \
	$(MAKE) --no-print-directory cluster-up || exit 1; \
	COFFER_COMPOSE="$(COMPOSE)" COFFER_SECRETS=$(CURDIR)/$(SECRETS) \
	  $(GO) test -count=1 -tags e2e -timeout $(SYSTEM_TIMEOUT) -v ./tests/system/... || \
	  { $(COMPOSE) logs --no-color --tail 50; exit 1; }
