#!/usr/bin/env bash
# Flake hunt: runs the whole suite (go test -race -count=1 ./...) ROUNDS
# times in a row while a load generator keeps every core busy, prints
# PASS/FAIL per round and a summary line, and fails if any round failed.
# A test that reads state without waiting for the event it asserts on
# fails here long before it fails in CI.
#
#   scripts/stress-test.sh [ROUNDS]      (default 10, or STRESS_ROUNDS)
#
# Run it through `make stress`: the chart tests need the tools and binaries
# make builds and the variables mk/*.mk export. Knobs (environment):
#   STRESS_PACKAGES  packages to test (default ./...)
#   STRESS_CPUS      busy workers (default: one per core, nproc)
#   STRESS_LOGS      where round logs go (default: a new temporary folder)
#   GO               the go command (default go)
# The load is stress-ng --cpu when it is installed (Debian: apt-get install
# stress-ng), else one bash busy loop per worker. Both stop when the script
# exits, however it exits.
set -euo pipefail

cd "$(dirname "$0")/.."

rounds=${1:-${STRESS_ROUNDS:-10}}
packages=${STRESS_PACKAGES:-./...}
cpus=${STRESS_CPUS:-$(nproc)}
logs=${STRESS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/orders-stress.XXXXXX")}
go=${GO:-go}
mkdir -p "$logs"

if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
	echo "stress-test: ROUNDS=$rounds: want a positive whole number" >&2
	exit 2
fi

load_pids=()
stop_load() {
	for pid in "${load_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${load_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}
trap stop_load EXIT
trap 'exit 130' INT TERM

if command -v stress-ng >/dev/null; then
	load="stress-ng --cpu $cpus"
	# The timeout only backs up the trap, should the script be killed hard.
	stress-ng --cpu "$cpus" --timeout "$((rounds * 1800))s" --quiet &
	load_pids+=($!)
else
	load="$cpus bash busy loops"
	for _ in $(seq "$cpus"); do
		bash -c 'while :; do :; done' &
		load_pids+=($!)
	done
fi
sleep 1
for pid in "${load_pids[@]}"; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "stress-test: the load generator ($load) did not start" >&2
		exit 2
	fi
done

echo "stress-test: $rounds rounds of $go test -race -count=1 -timeout 12m $packages under $load; logs in $logs"
passed=0
failed=0
start=$SECONDS
for round in $(seq "$rounds"); do
	log="$logs/round-$round.log"
	t0=$SECONDS
	# shellcheck disable=SC2086 # packages is a list
	if "$go" test -race -count=1 -timeout 12m $packages >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "round $round/$rounds: PASS in $((SECONDS - t0))s"
	else
		failed=$((failed + 1))
		tests=$(grep -E -- '--- FAIL|^FAIL|panic:' "$log" | sed 's/^ *//' | sort -u | paste -sd ' ' || true)
		echo "round $round/$rounds: FAIL in $((SECONDS - t0))s: ${tests:-see log} ($log)"
	fi
done
echo "stress-test: $passed/$rounds rounds passed, $failed failed, under $load, in $((SECONDS - start))s"
[ "$failed" -eq 0 ]
