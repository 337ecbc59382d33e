#!/usr/bin/env bash
# install-promtool.sh BIN — promtool into BIN, the fast way when it can.
#
# On Debian and Ubuntu the `prometheus` package carries promtool: its .deb is
# downloaded and unpacked in a temporary folder and promtool alone is copied
# into BIN (seconds; nothing is installed system-wide, no server is started).
# Elsewhere, or when apt cannot give the package, promtool is built from the
# Prometheus module test/backends/helm pins (minutes: docs/testing.md has
# the figures), a tool of that module like the e2e's Prometheus.
set -euo pipefail
mkdir -p "$1"
bin=$(cd "$1" && pwd) # BIN as the caller named it, before the cd below
cd "$(dirname "$0")/.."
log() { printf 'install-promtool: %s\n' "$*" >&2; }

from_deb() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
  # Empty package lists (a fresh container): refresh them, as root only.
  if ! apt-cache show prometheus >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || return 1
    apt-get update -qq -o DPkg::Lock::Timeout=300 >&2 || return 1
  fi
  local tmp rc=0
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root prometheus >&2 &&
    dpkg-deb -x prometheus_*.deb root &&
    install -m 0755 root/usr/bin/promtool "$bin/promtool") || rc=1
  [ $rc = 0 ] && log "promtool from $(basename "$tmp"/prometheus_*.deb) (Debian package, unpacked)"
  rm -rf "$tmp"
  return $rc
}

from_deb && exit 0
log "no Debian package: building promtool, a tool of test/backends/helm"
test/backends/tool.sh helm build "$bin/promtool" "" github.com/prometheus/prometheus/cmd/promtool
