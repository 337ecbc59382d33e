#!/usr/bin/env bash
# Runs the whole system on this machine, no cluster: a nats-server with
# JetStream (data in a temporary folder), one producer and two consumers,
# their logs interleaved on stdout as text (LOG_FORMAT=text; the services
# default to JSON). Ctrl-C stops everything and
# removes the folder. Ports: NATS_PORT (4222), HTTP ports 8081-8083.
#
# Each process runs in its own process group (set -m), so a Ctrl-C in the
# terminal reaches only this script, which then stops the services first
# (they drain against a live server) and NATS last. If a process exits on
# its own with an error (a bad setting, a crash), the rest are stopped and
# the script exits with that process's status.
set -euo pipefail
set -m
cd "$(dirname "$0")/.."
bin=$PWD/bin
nats_port=${NATS_PORT:-4222}
data=$(mktemp -d -t orders-run.XXXXXX)
pids=()

stop() {
	trap - INT TERM EXIT
	echo "run-local: stopping" >&2
	# Services first so they drain against a live server, then NATS.
	for pid in "${pids[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]:1}"; do wait "$pid" 2>/dev/null || true; done
	kill -TERM "${pids[0]}" 2>/dev/null || true
	wait "${pids[0]}" 2>/dev/null || true
	rm -rf "$data"
	echo "run-local: stopped, removed $data" >&2
}
trap stop EXIT
trap 'exit 0' INT TERM

"$bin/nats-server" --jetstream --store_dir "$data" --addr 127.0.0.1 --port "$nats_port" \
	--http_port 0 --server_name orders-local >"$data/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	grep -q "Server is ready" "$data/nats.log" && break
	sleep 0.1
done
grep -q "Server is ready" "$data/nats.log" || { cat "$data/nats.log" >&2; exit 1; }
echo "run-local: nats-server on 127.0.0.1:$nats_port, JetStream in $data" >&2

export NATS_URL="nats://127.0.0.1:$nats_port" LOG_FORMAT=${LOG_FORMAT:-text}
for i in 1 2; do
	INSTANCE="consumer-$i" HTTP_ADDR="127.0.0.1:808$((i + 1))" "$bin/consumer" &
	pids+=($!)
done
INSTANCE=producer-1 HTTP_ADDR=127.0.0.1:8081 "$bin/producer" &
pids+=($!)
echo "run-local: producer :8081, consumers :8082 :8083 (/healthz /readyz /metrics); Ctrl-C to stop" >&2
# A producer done with PUBLISH_COUNT exits 0 and the rest keep running; a
# process that fails stops everything with its status.
status=0
while [ "$status" = 0 ] && [ -n "$(jobs -pr)" ]; do
	wait -n || status=$?
done
[ "$status" = 0 ] || echo "run-local: a process failed (exit status $status)" >&2
exit "$status"
