# Contracts: test/contract validates platform/events/asyncapi.yaml against
# AsyncAPI 3.0.0's own JSON Schema, from the @asyncapi/specs npm package,
# pinned here and unpacked into ./bin (scripts/install-asyncapi-schema.sh).
# docs/events.md says what the contract tests check.

ASYNCAPI_SPECS_VERSION := 6.8.1
ASYNCAPI_SCHEMA        := $(BIN)/asyncapi-specs-$(ASYNCAPI_SPECS_VERSION).json
TOOLS += $(ASYNCAPI_SCHEMA)
export ORDERS_ASYNCAPI_SCHEMA := $(ASYNCAPI_SCHEMA)

$(ASYNCAPI_SCHEMA):
	./scripts/install-asyncapi-schema.sh $@ $(ASYNCAPI_SPECS_VERSION)
