#!/usr/bin/env bash
# 0004-runners: two `explainq runner` processes share one model's requests on the real broker;
# every request is answered (malformed ones with error replies) and SIGTERM stops them cleanly.
set -euo pipefail
NAME="itest$$"
MODEL=tests/data/onnx/mlp20.onnx
tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

"$EXPLAINQ" topics create -b "$KAFKA_BOOTSTRAP" --partitions 4 "explain.infer.$NAME"
for i in 1 2; do
    "$EXPLAINQ" runner --model "$MODEL" --name "$NAME" -b "$KAFKA_BOOTSTRAP" \
        -X kafka.consumer.session.timeout.ms=6000 -X kafka.consumer.heartbeat.interval.ms=500 \
        >"$tmp/runner$i.log" 2>&1 &
    pids+=($!)
done
# both runners hold partitions before the requests go out, so both serve some
for _ in $(seq 1 120); do
    if grep -q "assigned partitions=[1-9]" "$tmp/runner1.log" &&
        grep -q "assigned partitions=[1-9]" "$tmp/runner2.log"; then
        break
    fi
    sleep 0.5
done
MODEL="$MODEL" NAME="$NAME" "$BUILD/test_runner"

for i in 1 2; do kill -TERM "${pids[$((i - 1))]}"; done
for i in 1 2; do
    rc=0
    wait "${pids[$((i - 1))]}" || rc=$?
    [ "$rc" -eq 0 ] || { echo "runner $i exited $rc"; cat "$tmp/runner$i.log"; exit 1; }
done
pids=()
cat "$tmp"/runner*.log | grep "stopping served=" 
# both shared the load
for i in 1 2; do
    grep -Eq "stopping served=[1-9][0-9]* " "$tmp/runner$i.log" || { echo "runner $i served nothing"; cat "$tmp/runner$i.log"; exit 1; }
done
grep -q "error reply id=bad-0" "$tmp"/runner*.log
echo "runners: two runners shared the requests and stopped on SIGTERM"
