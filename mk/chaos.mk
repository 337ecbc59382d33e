# Chaos: the real binaries against real nats-server processes (the pinned
# bin/nats-server), faults by signal and through an in-process TCP proxy,
# audited from outside the processes (test/chaos). The faults run side by
# side, each on its own NATS servers.

CHAOS_PARALLEL ?= 6

.PHONY: chaos
chaos: build $(NATS_SERVER) ## kill, freeze, partition and flood the pipeline; audit loss, duplicates, dead letters
	CHAOS_BIN=$(BIN) $(GO) test -tags chaos -count=1 -v -parallel $(CHAOS_PARALLEL) -timeout 10m -run TestChaos ./test/chaos/
