# gomodule.sh — sourced by the scripts that build third-party programs from
# their Go modules (autoscale.sh, monitoring.sh); they define die().

# module_dir MODULE VERSION: download the module (the Go module proxy) and
# print its directory in the module cache.
module_dir() {
  local dir
  dir=$(go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "go mod download $1@$2 gave no directory"
  printf '%s\n' "$dir"
}
