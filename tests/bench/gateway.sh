#!/usr/bin/env bash
# gateway.sh -- part of `make bench`: the Vertex front door on the real broker.
#   1. `explainq gateway` latency at a fixed request rate (open loop): one instance per request,
#      Sampled Shapley pathCount 10 on the 20-feature MLP, one worker and one runner
#   2. `explainq batch` explanations/s, in-process and through the workers, next to
#      `submit` + `collect` of the same instances through the same worker
set -euo pipefail
TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$TOP"
X="$TOP/${BUILD:-build}/explainq"
RATE="${BENCH_RATE:-50}" SECS="${BENCH_SECS:-20}" N="${BENCH_BATCH:-10000}"
tmp="$(mktemp -d)"
pids=()
KAFKA_HOME_DIR="" REDIS_HOME_DIR=""
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -n "$KAFKA_HOME_DIR" ] && deploy/local/kafka-down.sh "$KAFKA_HOME_DIR"
    [ -n "$REDIS_HOME_DIR" ] && deploy/local/redis-down.sh "$REDIS_HOME_DIR"
    rm -rf "$tmp"
}
trap cleanup EXIT
eval "$(deploy/local/redis-up.sh)"
eval "$(deploy/local/kafka-up.sh)"
B="$KAFKA_BOOTSTRAP"
SPEC="$TOP/tests/data/specs/mlp20_shapley.json"
MODEL=tests/data/onnx/mlp20.onnx
"$X" topics create -b "$B" --partitions 4 explain.jobs explain.results explain.dlq \
    explain.infer.mlp20 >/dev/null
"$X" topics create -b "$B" --partitions 4 explain.replies >/dev/null
"$X" runner --model "$MODEL" --name mlp20 -b "$B" >"$tmp/runner.log" 2>&1 &
pids+=($!)
"$X" worker -b "$B" -X redis.url="$REDIS_URL" ${BENCH_WORKER_OPTS:-} >"$tmp/worker.log" 2>&1 &
pids+=($!)
cat >"$tmp/gw.json" <<JSON
{"listen": "127.0.0.1:0", "redis": "$REDIS_URL",
 "endpoints": [{"endpoint": "1", "model": "mlp20", "spec": "$SPEC", "seed": 0}]}
JSON
"$X" gateway -c "$tmp/gw.json" -b "$B" >"$tmp/gw.out" 2>"$tmp/gw.log" &
pids+=($!)
for _ in $(seq 1 300); do grep -q listening "$tmp/gw.out" 2>/dev/null && break; sleep 0.1; done
PORT="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/gw.out")"
URL="http://127.0.0.1:$PORT/v1/projects/p/locations/l/endpoints/1:explain"
{ printf '{"instances": ['; head -n 1 tests/data/instances/mlp20.jsonl; printf ']}'; } >"$tmp/body.json"
for _ in $(seq 1 20); do curl -sf -X POST -d @"$tmp/body.json" "$URL" >/dev/null; done # warm up
echo "bench gateway: $RATE requests/s for $SECS s, 1 instance each (worker opts: ${BENCH_WORKER_OPTS:-defaults}):"
python3 tests/bench/loadgen.py "$URL" "$tmp/body.json" "$RATE" "$SECS" | sed 's/^/  /'

# batch vs submit + collect, the same instances
touch "$tmp/in.jsonl"
while [ "$(wc -l <"$tmp/in.jsonl")" -lt "$N" ]; do
    cat tests/data/instances/mlp20.jsonl >>"$tmp/in.jsonl"
done
head -n "$N" "$tmp/in.jsonl" >"$tmp/inN.jsonl"
cat >"$tmp/job.json" <<JSON
{"displayName": "bench", "model": "projects/p/locations/l/models/mlp20",
 "inputConfig": {"instancesFormat": "jsonl", "gcsSource": {"uris": ["$tmp/inN.jsonl"]}},
 "outputConfig": {"predictionsFormat": "jsonl", "gcsDestination": {"outputUriPrefix": "$tmp/out"}},
 "generateExplanation": true}
JSON
rate() { echo "$N / ($2 - $1)" | bc -l | xargs printf '%.0f'; }
t0=$(date +%s.%N)
"$X" batch --job "$tmp/job.json" --model "$MODEL" --spec "$SPEC" >/dev/null
t1=$(date +%s.%N)
"$X" batch --job "$tmp/job.json" -b "$B" --spec "$SPEC" --job-size 100 >/dev/null
t2=$(date +%s.%N)
"$X" submit -b "$B" --model mlp20 --spec "$SPEC" --instances "$tmp/inN.jsonl" --job-size 100 \
    --jobs-out "$tmp/jobs" 2>/dev/null
"$X" collect -b "$B" --jobs "$tmp/jobs" --out /dev/null --timeout 600 2>/dev/null
t3=$(date +%s.%N)
echo "bench batch: $N instances, explanations/s: batch in-process $(rate "$t0" "$t1")," \
    "batch through the worker $(rate "$t1" "$t2"), submit + collect $(rate "$t2" "$t3")"
