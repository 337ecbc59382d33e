# Benchmarks: the in-process `go test -bench` benchmarks (allocations per
# order), then test/bench, which runs the producer and consumer binaries
# and natscli's `nats bench` ceilings on fresh pinned nats-servers in both
# delivery modes and writes bench/report.md with its PNG plots. Settings
# exported to make reach the binaries (PUBLISH_MAX_IN_FLIGHT=..., say);
# BENCH_FLAGS passes flags to test/bench (go run ./test/bench -h lists them;
# -run measures only the steps it matches, e.g. BENCH_FLAGS='-run work').

# natscli is a tool, not a dependency: installed from its own module at a
# pinned version, not in go.mod.
NATSCLI_VERSION := v0.5.0
NATSCLI         := $(BIN)/nats
BENCH_DIR       := bench
BENCH_FLAGS     ?=
GO_BENCHTIME    ?= 200ms

$(NATSCLI): $(BIN)/.version-natscli-$(NATSCLI_VERSION)
	$(GO) install github.com/nats-io/natscli/nats@$(NATSCLI_VERSION)
	@touch $@

.PHONY: bench
bench: build $(NATS_SERVER) $(NATSCLI) ## benchmarks: ours against `nats bench`, latency, scaling (also with 5 ms of work per order), cost → bench/report.md
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem -benchtime $(GO_BENCHTIME) -count 1 \
		./platform/... ./services/... | tee $(BIN)/gobench.txt
	$(GO) run ./test/bench -bin $(BIN) -out $(BENCH_DIR) -gobench $(BIN)/gobench.txt $(BENCH_FLAGS)
