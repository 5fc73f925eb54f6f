#!/usr/bin/env bash
# backlog.sh -- part of `make bench`: one worker's memory with a backlog of BACKLOG_INSTANCES
# (default 1,000,000) queued instances on the real broker, and its throughput while it works
# through them. Reports the worker's peak RSS (VmHWM) against the documented bound and the
# explanations/s over BACKLOG_SECONDS (default 60), next to a run with a small backlog.
set -euo pipefail
TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$TOP"
X="$TOP/${BUILD:-build}/explainq"
N="${BACKLOG_INSTANCES:-1000000}"
SECS="${BACKLOG_SECONDS:-60}"
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
"$X" topics create -b "$B" --partitions 8 explain.jobs explain.results explain.infer.mlp >/dev/null
for i in $(seq 1 10); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in1000.jsonl"

kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }

# the backlog: N instances in jobs of 1,000, all published before the worker starts
for _ in $(seq 1 $((N / 100000))); do
    for i in $(seq 1 100); do cat "$tmp/in1000.jsonl"; done >"$tmp/in100k.jsonl"
    "$X" submit -b "$B" --model mlp --spec "$SPEC" --instances "$tmp/in100k.jsonl" \
        --job-size 1000 --jobs-out /dev/null 2>/dev/null
done
"$X" runner --model "$MODEL" --name mlp -b "$B" >/dev/null 2>&1 &
pids+=($!)
"$X" worker -b "$B" -X redis.url="$REDIS_URL" >"$tmp/w.log" 2>&1 &
wpid=$!
pids+=($wpid)
sleep 5 # the worker joins, describes the model, fills its intake
waiting() { "$X" status -b "$B" 2>/dev/null | awk '/jobs waiting/ { print $2 }'; }
t0=$(date +%s.%N)
done0=$(waiting)
sleep "$SECS"
t1=$(date +%s.%N)
done1=$(waiting)
hwm=$(kb VmHWM "$wpid")
jobs_per_s=$(echo "($done0 - $done1) / ($t1 - $t0)" | bc -l)
echo
echo "backlog: $N instances queued (jobs of 1000); one worker + one runner for ${SECS}s:"
printf "  worker peak RSS %d MB (bound %d MB: %s); %.0f explanations/s\n" $((hwm / 1024)) "$BOUND_MB" \
    "$([ $((hwm / 1024)) -le $BOUND_MB ] && echo held || echo EXCEEDED)" \
    "$(echo "$jobs_per_s * 1000" | bc -l)"
