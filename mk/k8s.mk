# Kubernetes: the Helm chart, the container images, kind and skaffold.
# Included by the Makefile (-include mk/*.mk); docs/kubernetes.md explains it.

CHART := charts/orders

# ---- pinned tools, built from their Go modules into ./bin (GOBIN) ----------
# Helm is a tool of test/backends/helm, whose go.mod pins it (with the
# Prometheus the e2e runs, which shares its Kubernetes libraries: they then
# compile once); the others are installed alone.
HELM_VERSION        := $(shell $(HELM_TOOLS) version helm.sh/helm/v4)
KUBECONFORM_VERSION := v0.8.0
HELM_DOCS_VERSION   := v1.14.2
HELM                := $(BIN)/helm
KUBECONFORM         := $(BIN)/kubeconform
HELM_DOCS           := $(BIN)/helm-docs
TOOLS += $(HELM) $(KUBECONFORM) $(HELM_DOCS)

# A version stamp per tool: changing a pin (above, or in that go.mod)
# rebuilds that tool only.
$(HELM): $(BIN)/.version-helm-$(HELM_VERSION)
	$(HELM_TOOLS) build $@ "" helm.sh/helm/v4/cmd/helm
	@touch $@
$(KUBECONFORM): $(BIN)/.version-kubeconform-$(KUBECONFORM_VERSION)
	$(GO) install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)
	@touch $@
$(HELM_DOCS): $(BIN)/.version-helmdocs-$(HELM_DOCS_VERSION)
	$(GO) install github.com/norwoodj/helm-docs/cmd/helm-docs@$(HELM_DOCS_VERSION)
	@touch $@
$(BIN)/.version-%:
	@mkdir -p $(BIN)
	@rm -f $(BIN)/.version-$(firstword $(subst -, ,$*))-*
	@touch $@

# ---- schemas kubeconform validates the rendered chart against --------------
# "default" is kubeconform's own online location (plus the CRDs catalog for
# KEDA and Prometheus Operator kinds). A directory laid out like
# ../shared/schemas (kubernetes/, crds/) is used offline; it is picked up by
# default when it exists. The chart tests (go test ./test/chart) read it from
# ORDERS_SCHEMA_LOCATION and fail when it is unset.
SHARED_SCHEMAS  := $(abspath $(CURDIR)/../shared/schemas)
SCHEMA_LOCATION ?= $(if $(wildcard $(SHARED_SCHEMAS)/kubernetes),$(SHARED_SCHEMAS),default)
KUBERNETES_VERSION ?= 1.34.0
export ORDERS_SCHEMA_LOCATION := $(SCHEMA_LOCATION)
export ORDERS_KUBERNETES_VERSION := $(KUBERNETES_VERSION)

ifeq ($(SCHEMA_LOCATION),default)
KUBECONFORM_SCHEMAS := -schema-location default \
	-schema-location 'https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json'
else
KUBECONFORM_SCHEMAS := \
	-schema-location '$(SCHEMA_LOCATION)/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json' \
	-schema-location '$(SCHEMA_LOCATION)/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'
endif

.PHONY: chart-lint
chart-lint: $(HELM) $(KUBECONFORM) ## helm lint, and kubeconform of the default rendering
	$(HELM) lint --strict $(CHART)
	$(HELM) template orders $(CHART) | $(KUBECONFORM) -strict -summary \
		-kubernetes-version $(KUBERNETES_VERSION) $(KUBECONFORM_SCHEMAS) -

# charts/orders/README.md, from README.md.gotmpl and the values.yaml
# comments. test/chart (TestChartReadmeCurrent) runs helm-docs with these
# flags (ORDERS_HELM_DOCS_FLAGS; the same by default) and fails when the file
# differs.
HELM_DOCS_FLAGS := --sort-values-order file --skip-version-footer
export ORDERS_HELM_DOCS_FLAGS := $(HELM_DOCS_FLAGS)

.PHONY: chart-docs
chart-docs: $(HELM_DOCS) ## regenerate charts/orders/README.md from values.yaml comments
	$(HELM_DOCS) --chart-search-root $(CHART) $(HELM_DOCS_FLAGS)

# ---- container images ------------------------------------------------------
# Both services from the one Dockerfile, tagged orders-<side>:<chart appVersion>
# (what the chart runs by default). docker when a Docker engine answers,
# else podman; podman builds with --pull=never when both base images are in
# its local store (../shared/cluster/images puts stand-ins there).
IMAGE_PREFIX  ?= orders-
IMAGE_TAG     ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' $(CHART)/Chart.yaml)
VERSION       ?= $(IMAGE_TAG)
GO_IMAGE      ?= golang:1.26
RUNTIME_IMAGE ?= gcr.io/distroless/static-debian12:nonroot
# Detected once per make run (a recursive variable would ask `docker info`
# again for every recipe line, as it is exported below).
ifeq ($(origin CONTAINER_ENGINE),undefined)
CONTAINER_ENGINE := $(shell if docker info >/dev/null 2>&1; then echo docker; \
	elif command -v podman >/dev/null 2>&1; then echo podman; fi)
endif
# podman: the runtime the cluster README asks for, when it is there.
PODMAN := podman $(if $(wildcard /usr/sbin/runc),--runtime /usr/sbin/runc)
ENGINE  = $(if $(filter podman,$(CONTAINER_ENGINE)),$(PODMAN),$(CONTAINER_ENGINE))
PULL    = $(if $(filter podman,$(CONTAINER_ENGINE)),$(shell \
	if podman image exists $(GO_IMAGE) && podman image exists $(RUNTIME_IMAGE); \
	then echo --pull=never --network=host; else echo --network=host; fi))
export ORDERS_CONTAINER_ENGINE = $(ENGINE)
export ORDERS_IMAGE_PREFIX = $(IMAGE_PREFIX)
export ORDERS_IMAGE_TAG = $(IMAGE_TAG)

.PHONY: images image-producer image-consumer
images: image-producer image-consumer ## build orders-producer and orders-consumer images (docker, else podman)
image-producer image-consumer: image-%:
	@test -n "$(CONTAINER_ENGINE)" || { echo "images: neither a Docker engine nor podman found" >&2; exit 1; }
	$(if $(filter docker,$(CONTAINER_ENGINE)),DOCKER_BUILDKIT=1) $(ENGINE) build $(PULL) \
		--build-arg SERVICE=$* --build-arg VERSION=$(VERSION) \
		--build-arg GO_IMAGE=$(GO_IMAGE) --build-arg RUNTIME_IMAGE=$(RUNTIME_IMAGE) \
		-t $(IMAGE_PREFIX)$*:$(IMAGE_TAG) .

# The image test runs the built images hardened (uid 65532, read-only root,
# no capabilities) against a real nats-server until /readyz answers. It needs
# a container engine and the base images, so it is not part of `make test`;
# run it with `make test-images`, or add it with `make test IMAGE_TESTS=1`.
.PHONY: test-images
test-images: images tools ## build the images and test them as the cluster runs them
	$(GO) test -count=1 -tags imagetest -timeout 5m ./test/image/

ifneq ($(IMAGE_TESTS),)
TEST_EXTRA += test-images
endif
