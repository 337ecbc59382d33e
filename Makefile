# orders: two Go services over NATS. `make run` runs them locally,
# `make test` runs every test. Tools are installed into ./bin, pinned here.
SHELL := /bin/bash
.SECONDEXPANSION:
.DEFAULT_GOAL := help

BIN        := $(CURDIR)/bin
GO         ?= go
export GOBIN := $(BIN)
export PATH  := $(BIN):$(PATH)

# nats-server is built from the version go.mod pins, the same server the
# in-process tests run.
NATS_SERVER := $(BIN)/nats-server

# Helm and promtool are tools of the small module test/backends/helm, which
# pins them with the e2e's Prometheus (mk/k8s.mk, mk/observability.mk):
# test/backends/tool.sh says why.
HELM_TOOLS := test/backends/tool.sh helm

# Tools every test needs; the included mk/*.mk files add theirs.
TOOLS := $(NATS_SERVER)
# Extra test steps (after go test) that the included files add.
TEST_EXTRA :=

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
# No -trimpath here (the images have it): the same build settings as go vet
# and the system tests' own builds, so all three share the compiled
# packages in the Go build cache, and a cold make test compiles them once.
build: ## build both services into ./bin
	$(GO) build -o $(BIN)/producer ./services/producer
	$(GO) build -o $(BIN)/consumer ./services/consumer

$(NATS_SERVER): go.mod go.sum
	$(GO) build -o $@ github.com/nats-io/nats-server/v2

-include mk/*.mk

.PHONY: tools
tools: $$(TOOLS) ## install the pinned tools into ./bin

.PHONY: run
run: build $(NATS_SERVER) ## run NATS (JetStream), one producer and two consumers locally (OBSERVE=1: with Prometheus and Jaeger); Ctrl-C stops all
	$(if $(OBSERVE),./scripts/monitoring.sh build &&) OBSERVE=$(OBSERVE) ./scripts/run-local.sh

.PHONY: lint
lint: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: test
test: lint tools build ## run every test that needs no cluster or container engine (race detector on)
	$(GO) test -race -count=1 -timeout 12m ./...
	@for step in $(TEST_EXTRA); do $(MAKE) --no-print-directory $$step || exit 1; done
