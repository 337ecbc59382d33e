#!/usr/bin/env bash
# monitoring.sh — the real monitoring backends the e2e runs against:
# Prometheus (headless: built without the builtinassets tag, so the API
# only), kube-state-metrics, Jaeger and the Prometheus Operator CRDs
# (PodMonitor, ServiceMonitor, PrometheusRule). All come from pinned Go
# modules and are cached outside the checkout, like KEDA (autoscale.sh).
# They are tools of the small modules in test/backends, whose go.mod files
# state their versions: Prometheus of helm/ (it shares the Kubernetes
# libraries of the Helm that `make tools` builds, which then compile once),
# kube-state-metrics of keda/ (likewise KEDA's), Jaeger of jaeger/;
# test/backends/tool.sh builds them.
#
#   monitoring.sh build            build whatever is not cached yet into
#                                  CACHE/NAME-VERSION (a stamp skips it next
#                                  time); one caller at a time, the second
#                                  waits and then finds the stamps
#   monitoring.sh download         fetch the modules `build` compiles (network
#                                  only, no compiling; skipped when built):
#                                  .ci/run does it early, beside other work
#   monitoring.sh paths            print, for eval, MONITORING_PROMETHEUS,
#                                  MONITORING_KSM, MONITORING_JAEGER (the
#                                  binaries) and MONITORING_CRDS (the CRD
#                                  folder); exit 1 naming what is not built
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
CACHE=${MONITORING_CACHE:-${OFFLINE_K8S_CACHE:-/var/cache/offline-k8s}/monitoring}
PROMETHEUS_MODULE=github.com/prometheus/prometheus
KSM_MODULE=k8s.io/kube-state-metrics/v2
JAEGER_MODULE=github.com/jaegertracing/jaeger
OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator
CRD_FILES="monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml"
# Where Prometheus and kube-state-metrics read their version (--version).
COMMON_VERSION=github.com/prometheus/common/version

# The caller's GOFLAGS (-mod=vendor, …) and go.work are about this
# repository, not about the modules built here.
export GOFLAGS='' GOWORK=off

log() { printf 'monitoring: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# module_dir, tool_version, tool_build, tool_fetch (gomodule.sh).
. scripts/gomodule.sh
PROMETHEUS_VERSION=$(tool_version helm "$PROMETHEUS_MODULE")
KSM_VERSION=$(tool_version keda "$KSM_MODULE")
JAEGER_VERSION=$(tool_version jaeger "$JAEGER_MODULE")

# cached NAME VERSION: CACHE/NAME-VERSION is stamped (says so).
cached() {
  [ -f "$CACHE/$1-$2/stamp" ] || return 1
  log "$1 $2: cached in $CACHE/$1-$2"
}

build_prometheus() {
  local version_file
  cached prometheus "$PROMETHEUS_VERSION" && return 0
  version_file=$(module_dir "$PROMETHEUS_MODULE" "$PROMETHEUS_VERSION")/VERSION
  # No builtinassets tag: the web UI is not embedded, the API is served.
  tool_build prometheus "$PROMETHEUS_VERSION" helm "-X $COMMON_VERSION.Version=$(cat "$version_file")" \
    "$PROMETHEUS_MODULE/cmd/prometheus"
}

copy_crds() {
  local v=$PROMETHEUS_OPERATOR_VERSION name=prometheus-operator-crds out src f start=$SECONDS
  out=$CACHE/$name-$v
  cached "$name" "$v" && return 0
  src=$(module_dir "$OPERATOR_MODULE" "$v")/example/prometheus-operator-crd
  mkdir -p "$out"
  for f in $CRD_FILES; do
    [ -f "$src/$f" ] || die "$OPERATOR_MODULE@$v has no example/prometheus-operator-crd/$f"
    install -m 0644 "$src/$f" "$out/$f"
  done
  go version >"$out/stamp"
  log "$name $v: copied $CRD_FILES in $((SECONDS - start))s"
}

cmd_download() {
  tool_fetch prometheus "$PROMETHEUS_VERSION" helm "$PROMETHEUS_MODULE/cmd/prometheus"
  tool_fetch kube-state-metrics "$KSM_VERSION" keda "$KSM_MODULE"
  tool_fetch jaeger "$JAEGER_VERSION" jaeger "$JAEGER_MODULE/cmd/jaeger"
}

cmd_build() {
  # One build at a time: a background prebuild and make e2e may both ask;
  # the second waits here, then finds everything cached.
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  if ! flock -n 9; then
    log "another build holds $CACHE/.lock: waiting"
    flock 9
  fi
  build_prometheus
  tool_build kube-state-metrics "$KSM_VERSION" keda "-X $COMMON_VERSION.Version=$KSM_VERSION" "$KSM_MODULE"
  tool_build jaeger "$JAEGER_VERSION" jaeger "" "$JAEGER_MODULE/cmd/jaeger"
  copy_crds
}

cmd_paths() {
  local missing=()
  # path VAR NAME VERSION [FILE]: VAR=CACHE/NAME-VERSION[/bin/FILE] for eval
  # when that build is stamped, else note it missing.
  path() {
    local dir=$CACHE/$2-$3
    if [ -f "$dir/stamp" ]; then
      printf '%s=%q\n' "$1" "$dir${4:+/bin/$4}"
    else
      missing+=("$1 ($dir)")
    fi
  }
  path MONITORING_PROMETHEUS prometheus "$PROMETHEUS_VERSION" prometheus
  path MONITORING_KSM kube-state-metrics "$KSM_VERSION" kube-state-metrics
  path MONITORING_JAEGER jaeger "$JAEGER_VERSION" jaeger
  path MONITORING_CRDS prometheus-operator-crds "$PROMETHEUS_OPERATOR_VERSION"
  [ ${#missing[@]} = 0 ] || die "not built (monitoring.sh build): ${missing[*]}"
}

case "${1:-}" in
  build) cmd_build ;;
  download) cmd_download ;;
  paths) cmd_paths ;;
  *) die "usage: monitoring.sh build | download | paths" ;;
esac
