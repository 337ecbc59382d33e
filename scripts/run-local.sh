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
#
# OBSERVE=1 also runs the real monitoring backends the e2e proves the
# alerts and traces with (scripts/monitoring.sh builds them; make run
# OBSERVE=1 does it first): Prometheus on 127.0.0.1:9090 scraping the three
# services (namespace="local") with the chart's alert rules, and Jaeger,
# to which the services send their spans (OTLP 127.0.0.1:4318, query API
# 127.0.0.1:16686). Both serve their APIs only (no web UI is built in);
# docs/observability.md has the queries.
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

if [ -n "${OBSERVE:-}" ]; then
	eval "$(./scripts/monitoring.sh paths)"
	"$MONITORING_JAEGER" --config test/backends/jaeger/config.yaml >"$data/jaeger.log" 2>&1 &
	pids+=($!)
	target() { # target POD PORT: one local service, labelled as the chart's pods are
		printf '      - {targets: ["127.0.0.1:%s"], labels: {namespace: local, pod: %s}}\n' "$2" "$1"
	}
	{
		printf 'global: {scrape_interval: 5s, evaluation_interval: 5s}\nrule_files: [%s]\nscrape_configs:\n' "$PWD/charts/orders/rules/orders.rules.yaml"
		printf '  - job_name: producer\n    static_configs:\n' && target producer-1 8081
		printf '  - job_name: consumer\n    static_configs:\n' && target consumer-1 8082 && target consumer-2 8083
	} >"$data/prometheus.yml"
	"$MONITORING_PROMETHEUS" --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/prometheus" \
		--web.listen-address=127.0.0.1:9090 >"$data/prometheus.log" 2>&1 &
	pids+=($!)
	export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318
	echo "run-local: Prometheus API http://127.0.0.1:9090/api/v1/ (the chart's alerts), Jaeger query API http://127.0.0.1:16686/api/traces (logs in $data)" >&2
fi

export NATS_URL="nats://127.0.0.1:$nats_port" LOG_FORMAT=${LOG_FORMAT:-text}
for i in 1 2; do
	OTEL_SERVICE_NAME=orders-consumer INSTANCE="consumer-$i" HTTP_ADDR="127.0.0.1:808$((i + 1))" "$bin/consumer" &
	pids+=($!)
done
OTEL_SERVICE_NAME=orders-producer INSTANCE=producer-1 HTTP_ADDR=127.0.0.1:8081 "$bin/producer" &
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
