#!/usr/bin/env bash
# Measures each binary's resident memory idle and under load: a nats-server
# with JetStream, one consumer and one producer, first idle, then with the
# producer publishing as fast as the server acknowledges. Prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin
data=$(mktemp -d -t orders-rss.XXXXXX)
port=${NATS_PORT:-14222}
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$data"
}
trap cleanup EXIT

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

"$bin/nats-server" -js -sd "$data" -a 127.0.0.1 -p "$port" >"$data/nats.log" 2>&1 &
pids+=($!)
sleep 1
export NATS_URL=nats://127.0.0.1:$port LOG_LEVEL=warn
HTTP_ADDR=127.0.0.1:0 "$bin/consumer" >/dev/null &
consumer=$!
pids+=($consumer)
HTTP_ADDR=127.0.0.1:0 PUBLISH_INTERVAL=1h "$bin/producer" >/dev/null &
idle_producer=$!
pids+=($idle_producer)
sleep 3
printf '%-10s %12s %12s\n' binary "idle RSS MB" "load RSS MB"
idle_c=$(rss_mb "$consumer")
idle_p=$(rss_mb "$idle_producer")

HTTP_ADDR=127.0.0.1:0 PUBLISH_INTERVAL=0 "$bin/producer" >/dev/null &
busy_producer=$!
pids+=($busy_producer)
peak_c=0 peak_p=0
for _ in $(seq 10); do
	sleep 0.5
	peak_c=$(awk -v a="$peak_c" -v b="$(rss_mb "$consumer")" 'BEGIN{print (b>a)?b:a}')
	peak_p=$(awk -v a="$peak_p" -v b="$(rss_mb "$busy_producer")" 'BEGIN{print (b>a)?b:a}')
done
printf '%-10s %12s %12s\n' producer "$idle_p" "$peak_p" consumer "$idle_c" "$peak_c"
