# Flake hunt: the whole suite (go test -race -count=1 ./...) STRESS_ROUNDS
# times in a row with every core kept busy by a load generator (stress-ng
# when installed, else bash busy loops); one failed round fails it.
# scripts/stress-test.sh does it and says how to tune it.

STRESS_ROUNDS ?= 10

.PHONY: stress
stress: tools build ## the whole go test -race suite STRESS_ROUNDS times (10) with every core busy; any failure fails
	./scripts/stress-test.sh $(STRESS_ROUNDS)
