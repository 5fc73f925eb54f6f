#!/usr/bin/env bash
# backlog.sh -- part of `make bench`: one worker's memory with a backlog of BACKLOG_INSTANCES
# (default 1,000,000) queued instances on the real broker, and its throughput while it works
# through them, beside the same worker with a backlog of 100,000: the peak RSS (VmHWM) against the
# documented bound (512 MB) and explanations/s over BACKLOG_SECONDS (default 15) each.
set -euo pipefail
TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$TOP"
X="$TOP/${BUILD:-build}/explainq"
N="${BACKLOG_INSTANCES:-1000000}"
SECS="${BACKLOG_SECONDS:-15}"
BOUND_MB=512
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
SPEC=tests/data/specs/mlp20_shapley.json
MODEL=tests/data/onnx/mlp20.onnx
for i in $(seq 1 10); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in1000.jsonl"
for i in $(seq 1 20); do cat "$tmp/in1000.jsonl"; done >"$tmp/in20k.jsonl"

measure() { # $1: instances queued before the worker starts (a multiple of 20,000)
    local tag="b$1" jobs="bench_jobs_$1" res="bench_results_$1" wpid t0 t1 w0 w1 hwm rate
    "$X" topics create -b "$B" --partitions 8 "$jobs" "$res" "explain.infer.mlp$tag" >/dev/null
    for _ in $(seq 1 $(($1 / 20000))); do
        "$X" submit -b "$B" --topic "$jobs" --model "mlp$tag" --spec "$SPEC" \
            --instances "$tmp/in20k.jsonl" --job-size 1000 --jobs-out /dev/null 2>/dev/null
    done
    "$X" runner --model "$MODEL" --name "mlp$tag" -b "$B" >/dev/null 2>&1 &
    pids+=($!)
    "$X" worker -b "$B" -X topic.jobs="$jobs" -X topic.results="$res" -X redis.url="$REDIS_URL" \
        -X group.id="bench$tag" >"$tmp/w$tag.log" 2>&1 &
    wpid=$!
    pids+=($wpid)
    sleep 5 # the worker joins, describes the model, fills its intake
    waiting() {
        "$X" status -b "$B" -X topic.jobs="$jobs" -X group.id="bench$tag" 2>/dev/null |
            awk '/jobs waiting/ { print $2 }'
    }
    t0=$(date +%s.%N)
    w0=$(waiting)
    sleep "$SECS"
    t1=$(date +%s.%N)
    w1=$(waiting)
    hwm=$(awk '$1 == "VmHWM:" { print int($2 / 1024) }' "/proc/$wpid/status")
    rate=$(echo "($w0 - $w1) * 1000 / ($t1 - $t0)" | bc -l)
    printf "| %9d | %6d | %s | %8.0f |\n" "$1" "$hwm" \
        "$([ "$hwm" -le $BOUND_MB ] && echo "held    " || echo "EXCEEDED")" "$rate"
    kill -TERM "${pids[@]: -2}" 2>/dev/null || true
    wait "${pids[@]: -2}" 2>/dev/null || true
}

echo
echo "backlog: one worker + one runner, Sampled Shapley (10 paths) on the 20-feature MLP, jobs of"
echo "1,000 instances queued before it starts, measured over ${SECS}s (bound: $BOUND_MB MB):"
echo "| instances queued | worker peak RSS MB | bound | explanations/s |"
echo "|---|---|---|---|"
measure 100000
measure "$N"
