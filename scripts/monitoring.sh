#!/usr/bin/env bash
# monitoring.sh — the real monitoring backends the e2e runs against:
# Prometheus (headless: built without the builtinassets tag, so the API
# only), kube-state-metrics, Jaeger and the Prometheus Operator CRDs
# (PodMonitor, ServiceMonitor, PrometheusRule). All come from pinned Go
# modules and are cached outside the checkout, like KEDA (autoscale.sh).
# Jaeger's go.mod has a replace line, so it cannot be built in its own
# module directory: it is a `tool` of the small module test/backends/jaeger,
# whose go.mod pins its version (stated there only).
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

# The Prometheus module is promtool's (mk/observability.mk pins it, once).
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-$(sed -n 's/^PROMTOOL_VERSION *:= *//p' mk/observability.mk)}
[ -n "$PROMETHEUS_VERSION" ] || { echo "monitoring: no PROMTOOL_VERSION in mk/observability.mk" >&2; exit 1; }
KSM_VERSION=${KSM_VERSION:-v2.20.0}
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
CACHE=${MONITORING_CACHE:-${OFFLINE_K8S_CACHE:-/var/cache/offline-k8s}/monitoring}
PROMETHEUS_MODULE=github.com/prometheus/prometheus
KSM_MODULE=k8s.io/kube-state-metrics/v2
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_TOOL=test/backends/jaeger
OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator
CRD_FILES="monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml"
# Where Prometheus and kube-state-metrics read their version (--version).
COMMON_VERSION=github.com/prometheus/common/version

# The caller's GOFLAGS (-mod=vendor, …) and go.work are about this
# repository, not about the modules built here.
export GOFLAGS='' GOWORK=off

log() { printf 'monitoring: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# jaeger_version: the Jaeger module version test/backends/jaeger requires.
jaeger_version() {
  local v
  v=$(awk -v m="$JAEGER_MODULE" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$JAEGER_TOOL/go.mod")
  [ -n "$v" ] || die "$JAEGER_TOOL/go.mod requires no $JAEGER_MODULE"
  printf '%s\n' "$v"
}

# module_dir MODULE VERSION (gomodule.sh).
. scripts/gomodule.sh

# cached NAME VERSION: CACHE/NAME-VERSION is stamped (says so).
cached() {
  [ -f "$CACHE/$1-$2/stamp" ] || return 1
  log "$1 $2: cached in $CACHE/$1-$2"
}

# build_go NAME VERSION DIR PACKAGE [LDFLAGS]: go build PACKAGE in DIR (so
# DIR's go.mod decides the dependencies) into CACHE/NAME-VERSION/bin/NAME,
# then stamp it.
build_go() {
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags="-s -w ${5:-}" out=$CACHE/$1-$2 start=$SECONDS
  log "$name $version: building $pkg (go build, CGO_ENABLED=0) in $dir"
  mkdir -p "$out/bin"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="${ldflags% }" -o "$out/bin/$name" "$pkg")
  go version >"$out/stamp"
  log "$name $version: built in $((SECONDS - start))s ($(du -sh "$out/bin/$name" | cut -f1))"
}

build_prometheus() {
  local v=$PROMETHEUS_VERSION src
  cached prometheus "$v" && return 0
  src=$(module_dir "$PROMETHEUS_MODULE" "$v")
  # No builtinassets tag: the web UI is not embedded, the API is served.
  # remove_all_sd,enable_kubernetes_sd: of the service discoveries, only
  # Kubernetes' (and the static targets every build has), as Prometheus'
  # own plugins/ build tags allow: the cloud SDKs are not compiled.
  GOFLAGS=-tags=remove_all_sd,enable_kubernetes_sd \
    build_go prometheus "$v" "$src" ./cmd/prometheus "-X $COMMON_VERSION.Version=$(cat "$src/VERSION")"
}

build_ksm() {
  local v=$KSM_VERSION src
  cached kube-state-metrics "$v" && return 0
  src=$(module_dir "$KSM_MODULE" "$v")
  build_go kube-state-metrics "$v" "$src" . "-X $COMMON_VERSION.Version=$v"
}

build_jaeger() {
  local v
  v=$(jaeger_version)
  cached jaeger "$v" && return 0
  build_go jaeger "$v" "$JAEGER_TOOL" "$JAEGER_MODULE/cmd/jaeger"
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

# fetch NAME VERSION DIR PACKAGE: download the modules PACKAGE needs in DIR
# (go list loads them without compiling), unless NAME is built.
fetch() {
  local start=$SECONDS
  [ -f "$CACHE/$1-$2/stamp" ] && return 0
  (cd "$3" && go list -deps "$4" >/dev/null)
  log "$1 $2: modules downloaded in $((SECONDS - start))s"
}

cmd_download() {
  GOFLAGS=-tags=remove_all_sd,enable_kubernetes_sd \
    fetch prometheus "$PROMETHEUS_VERSION" "$(module_dir "$PROMETHEUS_MODULE" "$PROMETHEUS_VERSION")" ./cmd/prometheus
  fetch kube-state-metrics "$KSM_VERSION" "$(module_dir "$KSM_MODULE" "$KSM_VERSION")" .
  fetch jaeger "$(jaeger_version)" "$JAEGER_TOOL" "$JAEGER_MODULE/cmd/jaeger"
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
  build_ksm
  build_jaeger
  copy_crds
}

cmd_paths() {
  local missing=() jv
  jv=$(jaeger_version)
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
  path MONITORING_JAEGER jaeger "$jv" jaeger
  path MONITORING_CRDS prometheus-operator-crds "$PROMETHEUS_OPERATOR_VERSION"
  [ ${#missing[@]} = 0 ] || die "not built (monitoring.sh build): ${missing[*]}"
}

case "${1:-}" in
  build) cmd_build ;;
  download) cmd_download ;;
  paths) cmd_paths ;;
  *) die "usage: monitoring.sh build | download | paths" ;;
esac
