#!/usr/bin/env bash
# e2e.sh -- part of `make bench`: end-to-end explanations per second on the real broker, with one
# and two workers (one runner each), next to the same work done by `explainq explain` in-process.
# Sampled Shapley, pathCount 10, 20 features, the small MLP (ONNX): 192 model rows per instance.
# Side by side in one run: the runner path with compact requests (docs/protocol.md), with full
# rows (-X compact.requests=0), and a worker with a local model; for each, the worker's CPU per
# model row, the CPU per explanation of every process involved (worker, runner, broker) and the
# inference bytes per instance through the broker (requests and replies together).
set -euo pipefail
TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$TOP"
X="$TOP/${BUILD:-build}/explainq"
N="${BENCH_INSTANCES:-40000}"
tmp="$(mktemp -d)"
pids=()
KAFKA_HOME_DIR="" REDIS_HOME_DIR=""
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -n "$KAFKA_HOME_DIR" ] && deploy/local/kafka-down.sh "$KAFKA_HOME_DIR"
    [ -n "$REDIS_HOME_DIR" ] && deploy/local/redis-down.sh "$REDIS_HOME_DIR"
    [ -n "${KEEP_LOGS:-}" ] && cp "$tmp"/w*.log /tmp/ 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
eval "$(deploy/local/redis-up.sh)"
eval "$(deploy/local/kafka-up.sh)"
B="$KAFKA_BOOTSTRAP"
touch "$tmp/in.jsonl"
while [ "$(wc -l <"$tmp/in.jsonl")" -lt "$N" ]; do
    cat tests/data/instances/mlp20.jsonl >>"$tmp/in.jsonl"
done
SPEC=tests/data/specs/mlp20_shapley.json
MODEL=tests/data/onnx/mlp20.onnx
ROWS_PER=$((2 + 10 * 19))

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

TIMEFORMAT="%U %S"
t0=$(date +%s.%N)
{ time "$X" explain --spec "$SPEC" --model "$MODEL" --instances "$tmp/in.jsonl" --out "$tmp/ref.jsonl"; } 2>"$tmp/inproc.time"
t1=$(date +%s.%N)
inproc=$(echo "$N / ($t1 - $t0)" | bc -l)
inproc_us=$(awk -v n="$N" '{ printf "%.0f", ($1 + $2) * 1e6 / n }' "$tmp/inproc.time")
broker_pid=$(cat "$KAFKA_HOME_DIR/kafka.pid")

# bytes the brokers hold for the inference requests and replies so far
infer_bytes() { du -scb "$KAFKA_HOME_DIR"/data/explain.infer.* "$KAFKA_HOME_DIR"/data/explain.replies-* 2>/dev/null | tail -n 1 | cut -f1; }

run() { # $1: workers, $2: "local" for a worker that evaluates the model itself, "full" for full rows
    local w=$1 tag="b$1${2:-}$$" jobs="bench_jobs_$1${2:-}_$$" res="bench_results_$1${2:-}_$$" wpids=() rpids=()
    local local_opt=()
    [ "${2:-}" = full ] && local_opt=(-X compact.requests=0)
    "$X" topics create -b "$B" --partitions 8 "$jobs" "$res" "explain.infer.mlp$tag" >/dev/null
    [ "${2:-}" = local ] && local_opt=(-X "models=mlp$tag=$MODEL")
    for i in $(seq 1 "$w"); do
        if [ "${2:-}" != local ]; then
            "$X" runner --model "$MODEL" --name "mlp$tag" -b "$B" >/dev/null 2>&1 &
            pids+=($!)
            rpids+=($!)
        fi
        "$X" worker -b "$B" -X topic.jobs="$jobs" -X topic.results="$res" -X redis.url="$REDIS_URL" \
            -X group.id="bench$tag" -X worker.id="bench$tag-$i" "${local_opt[@]}" \
            ${BENCH_WORKER_OPTS:-} >"$tmp/w$i.log" 2>&1 &
        pids+=($!)
        wpids+=($!)
    done
    # warm-up: the group forms and the model is described before the clock starts
    head -n 20 "$tmp/in.jsonl" >"$tmp/warm.jsonl"
    "$X" submit -b "$B" --topic "$jobs" --model "mlp$tag" --spec "$SPEC" --instances "$tmp/warm.jsonl" \
        --prefix "warm$tag" --jobs-out "$tmp/warm.jobs" 2>/dev/null
    "$X" collect -b "$B" --topic "$res" --jobs "$tmp/warm.jobs" --out /dev/null --timeout 120 2>/dev/null
    local c0=0 c1=0 b0 b1 r0=0 r1=0 k0 k1
    for p in "${wpids[@]}"; do c0=$((c0 + $(cpu_ticks "$p"))); done
    for p in "${rpids[@]}"; do r0=$((r0 + $(cpu_ticks "$p"))); done
    k0=$(cpu_ticks "$broker_pid")
    b0=$(infer_bytes)
    local s0 s1
    s0=$(date +%s.%N)
    # submit and collect at the same time, as a pipeline's producer and consumer would: collect
    # waits for the N/100 jobs and the warm-up's one already in the topic
    "$X" collect -b "$B" --topic "$res" --count $((N / 100 + 1)) --out "$tmp/out.jsonl" \
        --timeout 600 2>/dev/null &
    local cpid=$!
    "$X" submit -b "$B" --topic "$jobs" --model "mlp$tag" --spec "$SPEC" --instances "$tmp/in.jsonl" \
        --job-size 100 --prefix "run$tag" --jobs-out "$tmp/run.jobs" 2>/dev/null
    wait "$cpid"
    s1=$(date +%s.%N)
    [ "$(wc -l <"$tmp/out.jsonl")" -eq $((N + 20)) ] || echo "e2e: $(wc -l <"$tmp/out.jsonl") lines, not $((N + 20))"
    for p in "${wpids[@]}"; do c1=$((c1 + $(cpu_ticks "$p"))); done
    for p in "${rpids[@]}"; do r1=$((r1 + $(cpu_ticks "$p"))); done
    k1=$(cpu_ticks "$broker_pid")
    b1=$(infer_bytes)
    local rate ns_row what
    rate=$(echo "$N / ($s1 - $s0)" | bc -l)
    ns_row=$(echo "($c1 - $c0) * 1000000000 / $(getconf CLK_TCK) / ($N * $ROWS_PER)" | bc -l)
    local sfx=""
    [ "$w" -eq 1 ] || sfx=s
    what="$w worker$sfx + $w runner$sfx, compact requests"
    [ "${2:-}" != full ] || what="$w worker$sfx + $w runner$sfx, full rows"
    [ "${2:-}" != local ] || what="$w worker$sfx, local model"
    us() { echo "$1 * 1000000 / $(getconf CLK_TCK) / $N" | bc -l; }
    printf "| kafka, %s | %8.0f | %5.0f | %5.0f (%.0f + %.0f + %.0f) | %5.2f | %7.0f |\n" "$what" "$rate" "$ns_row" \
        "$(us $((c1 - c0 + r1 - r0 + k1 - k0)))" "$(us $((c1 - c0)))" "$(us $((r1 - r0)))" "$(us $((k1 - k0)))" \
        "$(echo "$rate / $inproc" | bc -l)" "$(echo "($b1 - $b0) / $N" | bc -l)"
    # stopped and reaped before the next run, so it measures alone
    for p in "${wpids[@]}" "${rpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${wpids[@]}" "${rpids[@]}"; do wait "$p" 2>/dev/null || true; done
}

echo
echo "end to end, $N instances, Sampled Shapley (10 paths) on a 20-feature MLP, $ROWS_PER rows each:"
echo "| path | explanations/s | worker CPU ns/model row | CPU µs/explanation (worker+runner+broker) | ratio to in-process | inference bytes/instance |"
echo "|---|---|---|---|---|---|"
printf "| explainq explain (in-process) | %8.0f | | %5.0f | 1.00 | |\n" "$inproc" "$inproc_us"
run 1
run 1 full
run 1 local
run 2
