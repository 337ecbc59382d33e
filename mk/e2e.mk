# End-to-end: both images, a cluster (kind, an existing KUBECONFIG, or
# ../shared/cluster here), KEDA and metrics-server for the autoscaling
# scenarios (scripts/autoscale.sh: built from their Go modules and cached
# offline), the scenarios of test/e2e, and the cluster torn down again
# whatever happens. docs/e2e.md explains it; scripts/e2e.sh does it.

.PHONY: e2e
e2e: $$(HELM) ## images, a cluster, KEDA, the e2e scenarios and their audits (docs/e2e.md)
	E2E_HELM=$(HELM) \
	$(if $(filter command line environment,$(origin IMAGE_TAG)),IMAGE_TAG=$(IMAGE_TAG)) \
	IMAGE_PREFIX=$(IMAGE_PREFIX) ./scripts/e2e.sh
