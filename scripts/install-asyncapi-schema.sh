#!/usr/bin/env bash
# install-asyncapi-schema.sh OUT VERSION — AsyncAPI 3.0.0's JSON Schema into
# OUT, from the @asyncapi/specs npm package at VERSION: `npm pack` fetches
# the package (checked against the registry's integrity hash), the schema is
# unpacked, nothing is installed. test/contract validates
# platform/events/asyncapi.yaml against it. npm comes from Debian's package
# when missing (as root).
set -euo pipefail
out=$1 version=$2
log() { printf 'install-asyncapi-schema: %s\n' "$*" >&2; }
if ! command -v npm >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { log "npm is missing: install Node.js's npm"; exit 1; }
  apt-get update -qq -o DPkg::Lock::Timeout=300 >&2
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 npm >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@asyncapi/specs@$version" >/dev/null &&
  tar -xzf "asyncapi-specs-$version.tgz" 'package/schemas/3.0.0-without-$id.json')
mkdir -p "$(dirname "$out")"
install -m 0644 "$tmp/package/schemas/3.0.0-without-\$id.json" "$out"
log "$out from @asyncapi/specs@$version"
