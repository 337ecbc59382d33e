# End-to-end: both images, a cluster (kind, an existing KUBECONFIG, or
# ../shared/cluster here), the scenario of test/e2e, and the cluster torn
# down again whatever happens. docs/e2e.md explains it; scripts/e2e.sh does it.

.PHONY: e2e
e2e: $$(HELM) ## images, a cluster, the e2e scenario and its audit (docs/e2e.md)
	E2E_HELM=$(HELM) \
	$(if $(filter command line environment,$(origin IMAGE_TAG)),IMAGE_TAG=$(IMAGE_TAG)) \
	IMAGE_PREFIX=$(IMAGE_PREFIX) ./scripts/e2e.sh
