# gomodule.sh — sourced by the scripts that build third-party programs from
# their Go modules (autoscale.sh, monitoring.sh); they define CACHE, log()
# and die(). The programs are tools of the small modules in test/backends,
# which pin their versions; test/backends/tool.sh builds them.

TOOLS=test/backends/tool.sh

# module_dir MODULE VERSION: download the module (the Go module proxy) and
# print its directory in the module cache.
module_dir() {
  local dir
  dir=$(go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "go mod download $1@$2 gave no directory"
  printf '%s\n' "$dir"
}

# tool_version DIR MODULE: the version test/backends/DIR/go.mod requires of
# MODULE.
tool_version() { "$TOOLS" "$1" version "$2" || die "no version of $2 in test/backends/$1/go.mod"; }

# tool_build NAME VERSION DIR LDFLAGS PKG...: the tools PKG... of
# test/backends/DIR into CACHE/NAME-VERSION/bin/ (each binary named as go
# build names it), then a stamp there; a stamped folder is kept, not rebuilt.
tool_build() {
  local name=$1 version=$2 dir=$3 ldflags=$4 out=$CACHE/$1-$2 start=$SECONDS
  shift 4
  if [ -f "$out/stamp" ]; then
    log "$name $version: cached in $out"
    return 0
  fi
  log "$name $version: building $* (go build, CGO_ENABLED=0; a tool of test/backends/$dir)"
  mkdir -p "$out/bin"
  "$TOOLS" "$dir" build "$out/bin/" "$ldflags" "$@"
  go version >"$out/stamp"
  log "$name $version: built in $((SECONDS - start))s ($(du -sh "$out/bin" | cut -f1))"
}

# tool_fetch NAME VERSION DIR PKG...: download the modules tool_build needs
# for PKG... (no compiling), unless NAME is built.
tool_fetch() {
  local name=$1 version=$2 dir=$3 start=$SECONDS
  shift 3
  [ -f "$CACHE/$name-$version/stamp" ] && return 0
  "$TOOLS" "$dir" download "$@"
  log "$name $version: modules downloaded in $((SECONDS - start))s"
}
