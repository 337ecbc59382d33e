#!/usr/bin/env bash
# tool.sh — builds the third-party programs the tests run, each a `tool` of
# a small module here whose go.mod pins it (and is the only place that
# states its version). A module is named after the program whose
# dependencies the others follow:
#   helm/    Helm (`make tools`), the e2e's Prometheus, and promtool where
#            Debian has no package: Helm's Kubernetes libraries (v0.37)
#   keda/    KEDA, metrics-server (the e2e's autoscaling) and
#            kube-state-metrics (its monitoring): KEDA's (v0.36)
#   jaeger/  Jaeger v2, the e2e's trace store
# Programs of one module share their dependencies' versions, so a package
# they all import compiles once; every build here uses the same flags, for
# the build cache keeps one copy of a package per set of flags. (A tool
# module also applies the replace lines of its own go.mod, where a tool's
# own go.mod has some: KEDA's and Jaeger's cannot be built with
# `go install pkg@version`.)
#
#   tool.sh DIR version MODULE            the version DIR/go.mod requires of
#                                         MODULE
#   tool.sh DIR build OUT LDFLAGS PKG...  go build the tools PKG... of DIR's
#                                         module into OUT (a file for one
#                                         package, a folder ending in / for
#                                         any number); LDFLAGS may be ""
#   tool.sh DIR download PKG...           fetch the modules that build needs
#                                         (go list loads them, no compiling)
set -euo pipefail
dir=${1:?usage: tool.sh DIR version MODULE | build OUT LDFLAGS PKG... | download PKG...}
cd "$(dirname "$0")/$dir"
# The tags are Prometheus' own (plugins/): of its service discoveries only
# Kubernetes' and static targets, not the cloud SDKs. No other program here
# has files they select. The caller's GOFLAGS and go.work are about its own
# module, not these.
export GOFLAGS=-tags=remove_all_sd,enable_kubernetes_sd GOWORK=off CGO_ENABLED=0

case "${2:-}" in
  version)
    # The require line, not the tool line, which names a package.
    awk -v m="${3:?module}" '$1 == m && $2 ~ /^v/ { print $2; exit }
      $1 == "require" && $2 == m { print $3; exit }' go.mod | grep . ||
      { echo "tool.sh: $dir/go.mod requires no $3" >&2; exit 1; } ;;
  build)
    out=${3:?out} ldflags="-s -w${4:+ $4}"
    shift 4
    # Without inlining (-l): these programs run at a test's scale, where
    # their speed does not matter, and so compile with about a fifth less
    # CPU (docs/testing.md has the measurement), which a cold run waits on.
    go build -trimpath -gcflags=all=-l -ldflags="$ldflags" -o "$out" "${@:?package}" ;;
  download)
    shift 2
    go list -deps "${@:?package}" >/dev/null ;;
  *)
    echo "usage: tool.sh DIR version MODULE | DIR build OUT LDFLAGS PKG... | DIR download PKG..." >&2
    exit 2 ;;
esac
