#!/usr/bin/env bash
# 0014-outage: the broker is killed mid-batch and stays down OUTAGE_S seconds (default 300, past
# the 60 s transaction timeout); when it is back, every job has exactly one result and the
# worker and the runner are still running. Uses a broker of its own (the shared one stays up).
# runs-alongside: run.sh starts it in the background, as it mostly waits for the outage to end
set -euo pipefail
X="$EXPLAINQ"
T="o$$"
OUTAGE_S="${OUTAGE_S:-300}"
SPEC=tests/data/specs/mlp20_shapley.json
tmp="$(mktemp -d)"
declare -A pid=()
KDIR=""
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -n "$KDIR" ] && deploy/local/kafka-down.sh "$KDIR" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { # run.sh shows a failed test's last 60 lines: the most telling come last
    mkdir -p /tmp/explainq-0014-last && cp "$tmp"/*.log "$tmp"/*.err /tmp/explainq-0014-last/ 2>/dev/null || true
    for f in "$tmp"/runner.log "$tmp"/worker.log; do # the outage's connection errors say nothing new
        echo "== $f"
        grep -v -e 'Connect to ipv4' -e '_ALL_BROKERS_DOWN' -e 'Connection refused' "$f" | tail -n 14
    done
    if [ -n "${pid[worker]:-}" ] && command -v gdb >/dev/null; then # where a silent worker waits
        echo "== the worker's main thread"
        gdb -q -batch -p "${pid[worker]}" -ex bt 2>/dev/null | grep '^#' | cut -c1-150 | head -n 14
    fi
    echo "FAIL: $*"
    exit 1
}

out="$(deploy/local/kafka-up.sh)"
eval "$out"
KDIR="$KAFKA_HOME_DIR"
B="$KAFKA_BOOTSTRAP"
"$X" topics create -b "$B" --partitions 4 explain.jobs explain.results explain.dlq "explain.infer.mlp$T"
"$X" topics create -b "$B" --partitions 4 explain.replies

"$X" runner --model tests/data/onnx/mlp20.onnx --name "mlp$T" -b "$B" >"$tmp/runner.log" 2>&1 &
pid[runner]=$!
"$X" worker -b "$B" -X redis.url="$REDIS_URL" -X worker.id="w-$T" >"$tmp/worker.log" 2>&1 &
pid[worker]=$!

for i in $(seq 1 30); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in3000.jsonl"
"$X" submit -b "$B" --model "mlp$T" --spec "$SPEC" --instances "$tmp/in3000.jsonl" \
    --job-size 10 --seed 4 --prefix "O$T" --jobs-out "$tmp/o.jobs"
for _ in $(seq 1 100); do # mid-batch: some jobs done, most not
    "$X" status --redis "$REDIS_URL" "$(sed -n 10p "$tmp/o.jobs" | cut -f1)" 2>/dev/null |
        grep -qx 'state=done' && break
    sleep 0.1
done
echo "killing the broker for ${OUTAGE_S}s"
deploy/local/kafka-restart.sh "$KDIR" "$OUTAGE_S" || fail "the broker did not come back"
echo "the broker is back"
"$X" collect -b "$B" --jobs "$tmp/o.jobs" --out "$tmp/o.out" --timeout 300 2>"$tmp/collect.err" ||
    { cat "$tmp/collect.err"; fail "collect"; }
cat "$tmp/collect.err"
grep -q ", 0 failed, 0 duplicate results" "$tmp/collect.err" || fail "failed or duplicate results"
[ "$(wc -l <"$tmp/o.out")" -eq 3000 ] || fail "$(wc -l <"$tmp/o.out") results"
split -l 10 -d -a 4 "$tmp/in3000.jsonl" "$tmp/chunk_"
for f in "$tmp"/chunk_*; do
    "$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$f" --seed 4
done >"$tmp/o.ref"
cmp "$tmp/o.ref" "$tmp/o.out" || fail "results differ from explain"
kill -0 "${pid[worker]}" || fail "the worker died"
kill -0 "${pid[runner]}" || fail "the runner died"
kill -TERM "${pid[worker]}"
wait "${pid[worker]}" || fail "the worker exited $?"
unset 'pid[worker]'
echo "outage: after ${OUTAGE_S}s without a broker, 300 jobs answered exactly once; worker and runner alive"
