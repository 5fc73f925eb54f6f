#!/usr/bin/env bash
# demo.sh -- `make demo`: the whole pipeline on one machine with nothing to set up. Starts the
# dev broker (librdkafka's in-process mock Kafka), a redis-server, a runner serving a 20-feature
# MLP (ONNX) and a worker; explains 100 instances with Sampled Shapley; writes the results to
# demo-results.jsonl, prints each instance's top features, and stops everything it started.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/.." && pwd)"
cd "$TOP"
X="${BUILD:-build}/explainq"
tmp="$(mktemp -d)"
pids=()
REDIS_HOME_DIR=""
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "$REDIS_HOME_DIR" ] && deploy/local/redis-down.sh "$REDIS_HOME_DIR"
    rm -rf "$tmp"
}
trap cleanup EXIT
start=$SECONDS

echo "demo: starting the dev broker, redis-server, a runner and a worker"
"$X" dev-broker >"$tmp/broker.out" 2>"$tmp/broker.log" &
pids+=($!)
for _ in $(seq 1 50); do grep -q bootstrap "$tmp/broker.out" 2>/dev/null && break; sleep 0.1; done
BS="$(sed -n 's/^bootstrap.servers=//p' "$tmp/broker.out")"
out="$(deploy/local/redis-up.sh)"
eval "$out"
quiet=(-X kafka.consumer.session.timeout.ms=6000 -X kafka.consumer.heartbeat.interval.ms=500)
"$X" runner --model tests/data/onnx/mlp20.onnx --name mlp20 -b "$BS" "${quiet[@]}" \
    >"$tmp/runner.log" 2>&1 &
pids+=($!)
"$X" worker -b "$BS" -X redis.url="$REDIS_URL" "${quiet[@]}" >"$tmp/worker.log" 2>&1 &
pids+=($!)

echo "demo: explaining tests/data/instances/mlp20.jsonl (100 instances, 20 features each)"
echo "      with tests/data/specs/mlp20_shapley.json (Sampled Shapley, 10 paths)"
"$X" submit -b "$BS" --model mlp20 --spec tests/data/specs/mlp20_shapley.json \
    --instances tests/data/instances/mlp20.jsonl --job-size 10 --seed 1 --jobs-out "$tmp/jobs"
if ! "$X" collect -b "$BS" --jobs "$tmp/jobs" --out demo-results.jsonl --timeout 90 \
    --summary 2>"$tmp/summary"; then
    cat "$tmp/summary"
    echo "demo: the results did not all arrive; the worker said:"
    tail -20 "$tmp/worker.log"
    exit 1
fi
echo
echo "Top three features per instance (instance: predicted class, feature attribution ...):"
grep '^  ' "$tmp/summary" >"$tmp/top" || true
sed -n '1,12p' "$tmp/top"
echo "  ... ($(wc -l <"$tmp/top") instances in all)"
echo
grep 'explainq collect' "$tmp/summary"
echo "demo: results in demo-results.jsonl ($(wc -l <demo-results.jsonl) lines), in $((SECONDS - start)) s"
