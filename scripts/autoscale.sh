#!/usr/bin/env bash
# autoscale.sh — what the e2e autoscaling scenario needs besides the chart:
# KEDA (operator and metrics adapter, for the ScaledObject) and
# metrics-server (the resource metrics API, for the CPU HPA).
# docs/autoscaling.md explains it; scripts/e2e.sh calls it.
#
#   autoscale.sh build             offline cluster only: build KEDA and
#                                  metrics-server from their Go modules into
#                                  the cache (outside the checkout) and their
#                                  images on the distroless base; a warm cache
#                                  skips both
#   autoscale.sh download          fetch the modules `build` compiles (network
#                                  only, no compiling; skipped when built):
#                                  .ci/run does it early, beside other work
#   autoscale.sh images            print the images `build` made (for load)
#   autoscale.sh manifests         print what `install offline` applies
#   autoscale.sh install MODE      MODE offline|kind|existing: use a KEDA and
#                                  a metrics-server the cluster already has
#                                  (says so), else install them: offline from
#                                  the modules' own kustomize manifests with
#                                  our images, kind/existing from the upstream
#                                  release manifests; then wait until both
#                                  APIs answer
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${AUTOSCALE_CACHE:-${OFFLINE_K8S_CACHE:-/var/cache/offline-k8s}/autoscale}
KUBECTL=${E2E_KUBECTL:-kubectl}
ENGINE=${CONTAINER_ENGINE:-podman}
BASE_IMAGE=${AUTOSCALE_BASE_IMAGE:-gcr.io/distroless/static-debian12:nonroot}
KEDA_MODULE=github.com/kedacore/keda/v2
MS_MODULE=sigs.k8s.io/metrics-server

log() { printf 'autoscale: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# module_dir, tool_version, tool_build, tool_fetch (gomodule.sh). KEDA and
# metrics-server are tools of test/backends/keda, whose go.mod states their
# versions (and KEDA's replace line): metrics-server (and the e2e's
# kube-state-metrics) share KEDA's Kubernetes libraries, which then compile
# once.
. scripts/gomodule.sh
KEDA_VERSION=$(tool_version keda "$KEDA_MODULE")
METRICS_SERVER_VERSION=$(tool_version keda "$MS_MODULE")
# The release manifests for clusters that can pull (kind, a real cluster).
KEDA_RELEASE_URL=${KEDA_RELEASE_URL:-https://github.com/kedacore/keda/releases/download/$KEDA_VERSION/keda-${KEDA_VERSION#v}-core.yaml}
MS_RELEASE_URL=${MS_RELEASE_URL:-https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml}
# The images the upstream manifests name, so ours stand in for them unchanged.
KEDA_IMAGE=ghcr.io/kedacore/keda:${KEDA_VERSION#v}
KEDA_ADAPTER_IMAGE=ghcr.io/kedacore/keda-metrics-apiserver:${KEDA_VERSION#v}
MS_IMAGE=registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION
WAIT=${AUTOSCALE_WAIT:-5m}

# image TAG BINARY ENTRYPOINT: an image FROM the distroless stand-in with the
# binary at ENTRYPOINT, skipped when the tag already holds this binary.
image() {
  local tag=$1 bin=$2 entry=$3 sum ctx have
  sum=$(sha256sum "$bin" | cut -c1-16)
  have=$("$ENGINE" image inspect --format '{{index .Labels "orders.binary"}}' "$tag" 2>/dev/null || true)
  if [ "$have" = "$sum" ]; then
    log "image $tag: up to date"
    return 0
  fi
  ctx=$(mktemp -d)
  cp "$bin" "$ctx${entry}"
  printf 'FROM %s\nCOPY %s %s\nUSER 65532:65532\nLABEL orders.binary=%s\nENTRYPOINT ["%s"]\n' \
    "$BASE_IMAGE" "${entry#/}" "$entry" "$sum" "$entry" >"$ctx/Containerfile"
  "$ENGINE" build -q --pull=never --network=host -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "image $tag: built"
}

cmd_download() {
  tool_fetch keda "$KEDA_VERSION" keda "$KEDA_MODULE/cmd/operator" "$KEDA_MODULE/cmd/adapter"
  tool_fetch metrics-server "$METRICS_SERVER_VERSION" keda "$MS_MODULE/cmd/metrics-server"
}

cmd_build() {
  # One build at a time: .ci/run starts one in the background early and
  # e2e.sh asks again; the second waits here, then finds everything cached.
  mkdir -p "$CACHE"
  exec 9>"$CACHE/build.lock"
  flock 9
  tool_build keda "$KEDA_VERSION" keda "" "$KEDA_MODULE/cmd/operator" "$KEDA_MODULE/cmd/adapter"
  tool_build metrics-server "$METRICS_SERVER_VERSION" keda "" "$MS_MODULE/cmd/metrics-server"
  local kb=$CACHE/keda-$KEDA_VERSION/bin mb=$CACHE/metrics-server-$METRICS_SERVER_VERSION/bin
  image "$KEDA_IMAGE" "$kb/operator" /keda
  image "$KEDA_ADAPTER_IMAGE" "$kb/adapter" /keda-adapter
  image "$MS_IMAGE" "$mb/metrics-server" /metrics-server
}

cmd_images() { printf '%s\n' "$KEDA_IMAGE" "$KEDA_ADAPTER_IMAGE" "$MS_IMAGE"; }

kc() { "$KUBECTL" "$@"; }

# available APISERVICE: the aggregated API is registered and answers.
available() {
  [ "$(kc get apiservice "$1" -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null)" = True ]
}

# overlay SRC DIR RESOURCE: render RESOURCE (a kustomization under SRC/DIR)
# with the images, patches, … read from stdin. kustomize takes no absolute
# resource paths, so a copy of SRC/DIR sits beside the overlay.
overlay() {
  local src=$1 dir=$2 resource=$3 ov
  ov=$(mktemp -d)
  cp -r "$src/$dir" "$ov/$dir" && chmod -R u+w "$ov/$dir"
  { printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\n' "$resource"; cat; } >"$ov/kustomization.yaml"
  kc kustomize "$ov"
  rm -rf "$ov"
}

# The module's config/minimal (CRDs, operator, metrics adapter, RBAC; no
# admission webhooks) with our image tags, never pulled, and webhook
# patching off (there is no webhook to patch).
keda_offline_manifests() {
  overlay "$(module_dir "$KEDA_MODULE" "$KEDA_VERSION")" config config/minimal <<EOF
images:
  - {name: ghcr.io/kedacore/keda, newTag: "${KEDA_VERSION#v}"}
  - {name: ghcr.io/kedacore/keda-metrics-apiserver, newTag: "${KEDA_VERSION#v}"}
patches:
  - target: {kind: Deployment, name: keda-operator}
    patch: |-
      - {op: add, path: /spec/template/spec/containers/0/args/-, value: --enable-webhook-patching=false}
      - {op: replace, path: /spec/template/spec/containers/0/imagePullPolicy, value: Never}
  - target: {kind: Deployment, name: keda-metrics-apiserver}
    patch: |-
      - {op: replace, path: /spec/template/spec/containers/0/imagePullPolicy, value: Never}
EOF
}

# metrics-server's release overlay with our image, never pulled, and
# --kubelet-insecure-tls (the kubelet's serving certificate is self-signed).
ms_offline_manifests() {
  overlay "$(module_dir "$MS_MODULE" "$METRICS_SERVER_VERSION")" manifests manifests/overlays/release <<EOF
patches:
  - target: {kind: Deployment, name: metrics-server}
    patch: |-
      - {op: replace, path: /spec/template/spec/containers/0/imagePullPolicy, value: Never}
      - {op: add, path: /spec/template/spec/containers/0/args/-, value: --kubelet-insecure-tls}
EOF
}

# kinds [-not] KIND: the YAML documents on stdin of that kind (with -not:
# of any other kind), read with a YAML parser (internal/kubeyaml).
kinds() { go run ./internal/kubeyaml "$@"; }

# apply MODE WHAT RENDER URL: offline, RENDER's output (the module's own
# manifests with our images); elsewhere the release manifests at URL.
apply() {
  local mode=$1 what=$2 render=$3 url=$4
  if [ "$mode" = offline ]; then
    log "$what: installing the module's manifests with our images ($render)"
    local m
    m=$(mktemp)
    "$render" >"$m"
    # The APIService last, once its Service has ready endpoints: offline,
    # the API server's first connection to a ClusterIP that kube-proxy has
    # not programmed yet leaves the host (seen: answered 404 by something
    # off the cluster) and the aggregator keeps reusing it, so the
    # APIService stays FailedDiscoveryCheck for good.
    kinds -not APIService <"$m" | kc apply --server-side --force-conflicts -f - >&2
    kc wait --for=condition=Available --timeout="$WAIT" -f <(kinds Deployment <"$m") >&2
    kinds APIService <"$m" | kc apply --server-side --force-conflicts -f - >&2
    rm -f "$m"
  else
    log "$what: installing the release manifests $url"
    kc apply --server-side --force-conflicts -f "$url" >&2
  fi
}

install_keda() {
  local ns
  if kc get crd scaledobjects.keda.sh >/dev/null 2>&1 && available v1beta1.external.metrics.k8s.io; then
    ns=$(kc get apiservice v1beta1.external.metrics.k8s.io -o jsonpath='{.spec.service.namespace}')
    log "KEDA: using the one installed (external metrics API served from namespace $ns)"
    return 0
  fi
  apply "$1" "KEDA $KEDA_VERSION" keda_offline_manifests "$KEDA_RELEASE_URL"
  kc wait --for=condition=Established --timeout="$WAIT" crd/scaledobjects.keda.sh >&2
  kc -n keda wait --for=condition=Available --timeout="$WAIT" deploy --all >&2
  kc wait --for=condition=Available --timeout="$WAIT" apiservice/v1beta1.external.metrics.k8s.io >&2
}

install_metrics_server() {
  if available v1beta1.metrics.k8s.io; then
    log "metrics-server: using the resource metrics API the cluster has"
    return 0
  fi
  apply "$1" "metrics-server $METRICS_SERVER_VERSION" ms_offline_manifests "$MS_RELEASE_URL"
  if [ "$1" != offline ]; then
    # kind's kubelets serve self-signed certificates too.
    kc -n kube-system patch deploy/metrics-server --type=json \
      -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]' >&2
  fi
  kc -n kube-system rollout status deploy/metrics-server --timeout="$WAIT" >&2
  kc wait --for=condition=Available --timeout="$WAIT" apiservice/v1beta1.metrics.k8s.io >&2
}

cmd_install() {
  local mode=${1:?usage: autoscale.sh install offline|kind|existing}
  install_keda "$mode"
  install_metrics_server "$mode"
}

case "${1:-}" in
  build) cmd_build ;;
  download) cmd_download ;;
  images) cmd_images ;;
  manifests) keda_offline_manifests && printf -- '---\n' && ms_offline_manifests ;;
  install) shift && cmd_install "$@" ;;
  *) die "usage: autoscale.sh build | images | manifests | install offline|kind|existing" ;;
esac
