# Observability: the alerting rules the chart ships (charts/orders/rules)
# are checked and unit-tested with promtool, in ./bin like the other tools:
# unpacked from Debian's prometheus package where apt has it (seconds), else
# built from the Prometheus module that test/backends/helm/go.mod pins
# (minutes); scripts/install-promtool.sh. docs/observability.md explains the
# rules and their tests.

PROMTOOL_VERSION := $(shell $(HELM_TOOLS) version github.com/prometheus/prometheus)
PROMTOOL         := $(BIN)/promtool
TOOLS += $(PROMTOOL)

RULES      := $(CHART)/rules/orders.rules.yaml
RULE_TESTS := test/rules/orders.rules.test.yaml

$(PROMTOOL): $(BIN)/.version-promtool-$(PROMTOOL_VERSION)
	./scripts/install-promtool.sh $(BIN)
	@touch $@

.PHONY: promtool
promtool: $(PROMTOOL) ## install promtool alone (.ci/run does it before its background builds use apt)

.PHONY: test-rules
test-rules: $(PROMTOOL) ## promtool: check the alerting rules and run their unit tests (one firing, one silent per alert)
	$(PROMTOOL) check rules $(RULES)
	$(PROMTOOL) test rules $(RULE_TESTS)

TEST_EXTRA += test-rules
