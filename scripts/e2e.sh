#!/usr/bin/env bash
# e2e.sh — the driver behind `make e2e` (docs/e2e.md): build both images, get
# a cluster, load the images, run the Go scenario in test/e2e, and on failure
# save every pod's logs and `kubectl describe` under one folder. Whatever
# cluster this script starts it also stops (trap on EXIT, success or failure).
#
# Which cluster (E2E_CLUSTER, default auto):
#   existing  KUBECONFIG is set and its cluster answers: use it, leave it up
#             (the release and its namespace are removed at the end)
#   kind      a Docker engine answers and `kind` is on PATH: create a cluster
#             from kind-config.yaml, `kind load docker-image`, delete it at the end
#   offline   ../shared/cluster exists (no Docker engine, no registry):
#             build, up, load, down
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MAKE=${E2E_MAKE:-make}
HELM=${E2E_HELM:-$ROOT/bin/helm}
CLUSTER_DIR=${E2E_CLUSTER_DIR:-$(cd "$ROOT/.." && pwd)/shared/cluster}
OFFLINE_STATE=${OFFLINE_K8S_STATE:-/var/lib/offline-k8s}
OFFLINE_CACHE=${OFFLINE_K8S_CACHE:-/var/cache/offline-k8s}
KIND_NAME=${E2E_KIND_CLUSTER:-orders-e2e}
NAMESPACE=${E2E_NAMESPACE:-orders-e2e}
RELEASE=${E2E_RELEASE:-orders}
IMAGE_PREFIX=${IMAGE_PREFIX:-orders-}
TAG=${IMAGE_TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p' charts/orders/Chart.yaml)}
TAG2=${E2E_TAG2:-${TAG}2}
# The release before event versions (it reads and sends v1 only), whose
# images step 10 of the single scenario runs beside this tree's.
PREV_REF=${E2E_PREVIOUS_RELEASE_REF:-fce78d5}
PREV_TAG=${E2E_PREVIOUS_TAG:-previous}
ARTIFACTS=${E2E_ARTIFACTS:-$ROOT/tmp/e2e-$(date +%Y%m%d-%H%M%S)}
GO_TEST_TIMEOUT=${E2E_GO_TIMEOUT:-40m}
mode=${E2E_CLUSTER:-auto}
# The autoscaling scenarios need KEDA and metrics-server (scripts/autoscale.sh),
# the monitoring one Prometheus, kube-state-metrics and Jaeger
# (scripts/monitoring.sh); each runs unless E2E_SCENARIOS leaves it out
# (test/e2e owns the default list).
autoscale=1 monitoring=1
if [ -n "${E2E_SCENARIOS:-}" ]; then
  case ",$E2E_SCENARIOS," in *,autoscale,* | *,autoscale-cluster,*) ;; *) autoscale="" ;; esac
  case ",$E2E_SCENARIOS," in *,monitoring,*) ;; *) monitoring="" ;; esac
fi

mkdir -p "$ARTIFACTS"
log() { printf 'e2e: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- timings: every phase is recorded and printed at the end ----------------
declare -a PHASES=()
phase() { # phase NAME CMD...: run CMD, record how long it took
  local name=$1 start=$SECONDS rc=0
  shift
  log "── $name"
  "$@" || rc=$?
  PHASES+=("$(printf '%-46s %5ss%s' "$name" $((SECONDS - start)) "$([ $rc = 0 ] || echo "  (failed, exit $rc)")")")
  return $rc
}
print_phases() {
  log "phase timings:"
  local p
  for p in "${PHASES[@]}"; do printf '  %s\n' "$p" >&2; done
  printf '  %-46s %5ss\n' "total" "$SECONDS" >&2
}

# ---- which cluster ---------------------------------------------------------
KUBECTL=${E2E_KUBECTL:-kubectl}
offline_kubeconfig=$OFFLINE_STATE/kubeconfig
answers() { "$KUBECTL" --request-timeout=5s get --raw /readyz >/dev/null 2>&1; }
# on_shared_cluster: the current context's API server is ../shared/cluster's
# (the first address of its service CIDR).
on_shared_cluster() {
  local server
  server=$("$KUBECTL" config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null || true)
  [[ "$server" == *10.199.0.1* ]]
}
if [ "$mode" = auto ]; then
  if [ -n "${KUBECONFIG:-}" ] && command -v "$KUBECTL" >/dev/null && answers; then
    mode=existing
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1 && command -v kind >/dev/null; then
    mode=kind
  elif [ -x "$CLUSTER_DIR/up" ]; then
    mode=offline
  else
    die "no cluster: set KUBECONFIG, or install Docker and kind, or put ../shared/cluster beside the checkout"
  fi
fi
log "cluster: $mode; namespace $NAMESPACE, release $RELEASE, images ${IMAGE_PREFIX}{producer,consumer}:{$TAG,$TAG2}; artifacts $ARTIFACTS"

we_started=""     # what to tear down: offline | kind | ""
autoscale_build="" # the background KEDA/metrics-server build's PID
monitoring_build="" # the background Prometheus/kube-state-metrics/Jaeger build's PID
tested=""         # set once the namespace may hold something of ours
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$autoscale_build" ] || kill "$autoscale_build" 2>/dev/null || true
  [ -z "$monitoring_build" ] || kill "$monitoring_build" 2>/dev/null || true
  if [ $rc != 0 ] && [ -n "$tested" ]; then
    phase "collect pod logs and describe" collect_artifacts || true
    log "FAILED (exit $rc): pod logs, kubectl describe and events are in $ARTIFACTS"
  fi
  if [ "$mode" = existing ] && [ -n "$tested" ]; then
    phase "helm uninstall, delete namespace" uninstall || true
  fi
  case "$we_started" in
    offline) phase "cluster down" "$CLUSTER_DIR/down" >&2 || true ;;
    kind) phase "kind delete cluster" kind delete cluster --name "$KIND_NAME" || true ;;
  esac
  print_phases
  # The failed checks' own words, last, where a CI log's tail shows them
  # (a check's message says what it wanted, a wait that timed out what it
  # awaited and last saw; a fatal setup error is above).
  if [ $rc != 0 ] && [ -f "$ARTIFACTS/go-test.log" ]; then
    log "failed checks (go-test.log's lines that say \"want\" or \"timed out\", and the failed tests):"
    grep -E -e '^ +[a-z0-9_]+_test\.go:[0-9]+: .*\b(want|timed out)\b' -e '^ *--- FAIL' "$ARTIFACTS/go-test.log" | tail -20 >&2 || true
  fi
  local r
  for r in "$ARTIFACTS"/*report.txt; do [ -f "$r" ] && log "audit report: $r"; done
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

uninstall() { # the scenarios' namespaces, which test/e2e labels orders-e2e-run=$NAMESPACE
  local ns
  for ns in $("$KUBECTL" get namespace -l "orders-e2e-run=$NAMESPACE" -o jsonpath='{.items[*].metadata.name}' 2>/dev/null); do
    "$HELM" uninstall "$RELEASE" -n "$ns" --wait --timeout 3m >&2 || true
    "$KUBECTL" delete namespace "$ns" --wait=false >&2 || true
  done
}

collect_artifacts() {
  local dir=$ARTIFACTS/cluster ns pod
  mkdir -p "$dir"
  "$KUBECTL" get nodes -o wide >"$dir/nodes.txt" 2>&1 || true
  "$KUBECTL" get all,pvc,pv,events -A -o wide >"$dir/all.txt" 2>&1 || true
  "$KUBECTL" describe nodes >"$dir/describe-nodes.txt" 2>&1 || true
  "$HELM" history "$RELEASE" -n "$NAMESPACE" >"$dir/helm-history.txt" 2>&1 || true
  "$HELM" get values --all "$RELEASE" -n "$NAMESPACE" >"$dir/helm-values.txt" 2>&1 || true
  "$KUBECTL" get pods -A --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name 2>/dev/null |
    while read -r ns pod; do
      mkdir -p "$dir/$ns"
      "$KUBECTL" describe pod -n "$ns" "$pod" >"$dir/$ns/$pod.describe.txt" 2>&1 || true
      "$KUBECTL" logs -n "$ns" "$pod" --all-containers --timestamps >"$dir/$ns/$pod.log" 2>&1 || true
      "$KUBECTL" logs -n "$ns" "$pod" --all-containers --timestamps --previous >"$dir/$ns/$pod.previous.log" 2>/dev/null ||
        rm -f "$dir/$ns/$pod.previous.log"
    done
  if [ "$mode" = offline ] || [ "$we_started" = offline ]; then
    mkdir -p "$dir/offline-k8s-logs" && cp -r "$OFFLINE_STATE/logs/." "$dir/offline-k8s-logs/" 2>/dev/null || true
  fi
}

# ---- tools and images --------------------------------------------------------
# ../shared/cluster/build exits 1 after a successful run when everything was
# cached (its EXIT trap kills a ticker that is already gone), so success is
# "build done" as its last line.
cluster_build() {
  local rc=0
  "$CLUSTER_DIR/build" 2>&1 | tee "$ARTIFACTS/cluster-build.log" >&2 || rc=$?
  [ $rc = 0 ] && return 0
  if tail -1 "$ARTIFACTS/cluster-build.log" | grep -q 'build done'; then
    log "shared/cluster/build exited $rc after 'build done': treated as success"
    return 0
  fi
  return $rc
}
[ -x "$HELM" ] || die "$HELM missing: make e2e installs it (make tools)"
if [ "$mode" = offline ]; then
  # Installs podman, containerd, … and the stand-in base images; 3 s when cached.
  phase "shared/cluster build" cluster_build
  KUBECTL=${E2E_KUBECTL:-$OFFLINE_CACHE/bin/kubectl}
fi
command -v "$KUBECTL" >/dev/null || die "kubectl ($KUBECTL) not found"
# The monitoring scenario runs its backends on this machine: Prometheus
# scrapes pod addresses, the pods send spans to the node's address. That
# holds on ../shared/cluster, whose node is this machine; not on kind or
# a remote cluster, where it is left out with a line saying why.
if [ -n "$monitoring" ] && [ "$mode" != offline ] && ! on_shared_cluster; then
  log "monitoring scenario left out: its Prometheus must reach the pods' addresses from this machine, which only ../shared/cluster gives (docs/e2e.md)"
  monitoring=""
fi
if [ -n "$monitoring" ]; then
  # Built from their Go modules, cached beside KEDA: seconds warm. In the
  # background while the scenarios before it run.
  log "── monitoring build (Prometheus, kube-state-metrics, Jaeger): in the background, log $ARTIFACTS/monitoring-build.log"
  nice -n 19 ./scripts/monitoring.sh build >"$ARTIFACTS/monitoring-build.log" 2>&1 &
  monitoring_build=$!
fi
# KEDA and metrics-server from their Go modules, cached beside the
# cluster's binaries: seconds warm, the longest build cold. Only the
# autoscaling scenarios need them, so they build in the background at the
# lowest CPU priority while the other scenarios run (mostly waiting on the
# cluster), and are waited for just before the autoscaling ones. They start
# once the monitoring build has ended, which the monitoring scenario needs
# sooner: side by side, the two would halve each other's CPU and both
# compile the Kubernetes libraries kube-state-metrics shares with KEDA (the
# build cache has a package only once one build has finished it).
if [ "$mode" = offline ] && [ -n "$autoscale" ]; then
  log "── autoscale build (KEDA, metrics-server): in the background${monitoring_build:+ after the monitoring build}, log $ARTIFACTS/autoscale-build.log"
  (
    [ -z "$monitoring_build" ] || tail --pid="$monitoring_build" -f /dev/null
    exec nice -n 19 ./scripts/autoscale.sh build
  ) >"$ARTIFACTS/autoscale-build.log" 2>&1 &
  autoscale_build=$!
fi

# A fresh make so the container engine is detected after build installed podman.
phase "make images" "$MAKE" --no-print-directory images IMAGE_TAG="$TAG" IMAGE_PREFIX="$IMAGE_PREFIX" >&2
ENGINE=${CONTAINER_ENGINE:-$(if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; else echo podman; fi)}
for side in producer consumer; do
  "$ENGINE" tag "$IMAGE_PREFIX$side:$TAG" "$IMAGE_PREFIX$side:$TAG2"
done
# The previous release's images, built from its tree (git archive: a
# shallow clone lacks it; E2E_PREVIOUS_RELEASE_REF names another commit).
prev_tree=$ARTIFACTS/previous-release
mkdir -p "$prev_tree"
git archive "$PREV_REF" | tar -x -C "$prev_tree" ||
  die "the previous release $PREV_REF is not in this clone (a shallow clone?): set E2E_PREVIOUS_RELEASE_REF"
phase "make images (previous release $PREV_REF)" "$MAKE" -C "$prev_tree" --no-print-directory images IMAGE_TAG="$PREV_TAG" IMAGE_PREFIX="$IMAGE_PREFIX" >&2
rm -rf "$prev_tree"
# The NATS image the chart runs by default, so it is loaded rather than pulled.
NATS_IMAGE=$("$HELM" template "$RELEASE" charts/orders | sed -n 's/^ *image: *"\{0,1\}\(nats:[^"]*\)"\{0,1\} *$/\1/p' | head -1)
[ -n "$NATS_IMAGE" ] || die "could not find the NATS image in the rendered chart"
IMAGES=("$IMAGE_PREFIX"producer:"$TAG" "$IMAGE_PREFIX"consumer:"$TAG" "$IMAGE_PREFIX"producer:"$TAG2" "$IMAGE_PREFIX"consumer:"$TAG2"
  "$IMAGE_PREFIX"producer:"$PREV_TAG" "$IMAGE_PREFIX"consumer:"$PREV_TAG" "$NATS_IMAGE")

# ---- the cluster -------------------------------------------------------------
case "$mode" in
  offline)
    export KUBECONFIG=$offline_kubeconfig
    if [ -f "$KUBECONFIG" ] && answers; then
      log "the offline cluster is already running: using it and leaving it up"
      mode=existing
    else
      we_started=offline
      phase "cluster up" "$CLUSTER_DIR/up" >"$ARTIFACTS/up.out"
    fi
    phase "load images" "$CLUSTER_DIR/load" "${IMAGES[@]}" >&2
    ;;
  kind)
    export KUBECONFIG=$ARTIFACTS/kubeconfig
    we_started=kind
    phase "kind create cluster" kind create cluster --name "$KIND_NAME" --config kind-config.yaml --wait 3m >&2
    docker image inspect "$NATS_IMAGE" >/dev/null 2>&1 || phase "docker pull $NATS_IMAGE" docker pull "$NATS_IMAGE" >&2
    phase "kind load docker-image" kind load docker-image --name "$KIND_NAME" "${IMAGES[@]}" >&2
    ;;
  existing)
    ctx=$("$KUBECTL" config current-context 2>/dev/null || true)
    if [[ "$ctx" == kind-* ]] && command -v kind >/dev/null; then
      phase "kind load docker-image" kind load docker-image --name "${ctx#kind-}" "${IMAGES[@]}" >&2
    elif on_shared_cluster && [ -x "$CLUSTER_DIR/load" ]; then
      phase "load images" "$CLUSTER_DIR/load" "${IMAGES[@]}" >&2
    else
      log "context $ctx: not kind nor ../shared/cluster; the images must already be on its nodes (pullPolicy IfNotPresent)"
    fi
    ;;
esac
"$KUBECTL" version >&2 || true

# ---- the scenarios -------------------------------------------------------------
# test/e2e owns the scenarios and their order (E2E_SCENARIOS picks); the
# autoscaling ones (named autoscale*) run second, once KEDA and
# metrics-server are there. A failed run stops here (set -e).
tested=1
export E2E_KUBECTL=$KUBECTL E2E_HELM=$HELM E2E_NAMESPACE=$NAMESPACE E2E_RELEASE=$RELEASE \
  E2E_TAG2=$TAG2 E2E_PREVIOUS_TAG=$PREV_TAG E2E_PREVIOUS_RELEASE_REF=$PREV_REF E2E_ARTIFACTS=$ARTIFACTS
[ -z "${IMAGE_TAG:-}" ] || export E2E_TAG=$TAG
scenarios() { # scenarios GO-TEST-FLAGS...: the scenarios the flags select
  go test -tags e2e -count=1 -v -timeout "$GO_TEST_TIMEOUT" "$@" ./test/e2e/ 2>&1 | tee -a "$ARTIFACTS/go-test.log"
}
phase "scenarios (go test -tags e2e), but monitoring and autoscaling" scenarios -skip 'TestE2E/(monitoring|autoscale)'

# wait_build NAME: wait for the background build whose PID is in NAME_build
# (then cleared, so cleanup has nothing to kill) and print its log,
# $ARTIFACTS/NAME-build.log; its exit status is the build's.
wait_build() {
  local pid=${1}_build rc=0
  wait "${!pid}" || rc=$?
  printf -v "$pid" '%s' ""
  cat "$ARTIFACTS/$1-build.log" >&2
  return $rc
}

# ---- the monitoring backends, then the monitoring scenario ----------------------
if [ -n "$monitoring" ]; then
  phase "monitoring build (background), waited for" wait_build monitoring
  monitoring_paths=$(./scripts/monitoring.sh paths) || die "scripts/monitoring.sh paths: the backends are not built"
  eval "$monitoring_paths"
  export E2E_PROMETHEUS=$MONITORING_PROMETHEUS E2E_JAEGER=$MONITORING_JAEGER E2E_KSM=$MONITORING_KSM \
    E2E_PROMETHEUS_CRDS=$MONITORING_CRDS
  phase "scenarios (go test -tags e2e): monitoring" scenarios -run 'TestE2E/monitoring'
fi

# ---- KEDA and metrics-server, then the autoscaling scenarios ------------------
if [ -n "$autoscale" ]; then
  as_mode=$mode
  ! on_shared_cluster || as_mode=offline
  if [ -n "$autoscale_build" ]; then
    # Offline, the KEDA and metrics-server images are ours and must be
    # loaded; kind and real clusters pull the upstream ones.
    mapfile -t as_images < <(./scripts/autoscale.sh images)
    phase "autoscale build (background), waited for" wait_build autoscale
    phase "load KEDA and metrics-server images" "$CLUSTER_DIR/load" "${as_images[@]}" >&2
  fi
  phase "autoscale install (KEDA, metrics-server)" env E2E_KUBECTL="$KUBECTL" ./scripts/autoscale.sh install "$as_mode"
  phase "scenarios (go test -tags e2e): autoscaling" scenarios -run 'TestE2E/autoscale'
fi
