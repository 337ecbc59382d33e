# Observability: the alerting rules the chart ships (charts/orders/rules)
# are checked and unit-tested with promtool, built from the Prometheus
# module at a pinned version into ./bin like the Kubernetes tools.
# docs/observability.md explains the rules and their tests.

PROMTOOL_VERSION := v0.316.0
PROMTOOL         := $(BIN)/promtool
TOOLS += $(PROMTOOL)

RULES      := $(CHART)/rules/orders.rules.yaml
RULE_TESTS := test/rules/orders.rules.test.yaml

$(PROMTOOL): $(BIN)/.version-promtool-$(PROMTOOL_VERSION)
	$(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)
	@touch $@

.PHONY: test-rules
test-rules: $(PROMTOOL) ## promtool: check the alerting rules and run their unit tests (one firing, one silent per alert)
	$(PROMTOOL) check rules $(RULES)
	$(PROMTOOL) test rules $(RULE_TESTS)

TEST_EXTRA += test-rules
