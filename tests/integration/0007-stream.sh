#!/usr/bin/env bash
# 0007-stream: the worker in streaming mode explains prediction logs as they come: single
# instances (JSON), Vertex-style request logs ({"instances": [...]}) and an undecodable message,
# each answered under "<topic>-<partition>-<offset>".
set -euo pipefail
X="$EXPLAINQ"
T="s$$"
B="$KAFKA_BOOTSTRAP"
IN="explainq_test_${T}_predictions" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
MODEL="mlp$T"
tmp="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

"$X" topics create -b "$B" --partitions 2 "$IN" "$RES" "$DLQ" "explain.infer.$MODEL"
SPEC_ID="$("$X" spec put tests/data/specs/mlp20_ig.json --redis "$REDIS_URL")"
"$X" runner --model tests/data/onnx/mlp20.onnx --name "$MODEL" -b "$B" >"$tmp/runner.log" 2>&1 &
pids+=($!)
"$X" worker -b "$B" --input-format instances -X input.topic="$IN" -X topic.results="$RES" \
    -X topic.dlq="$DLQ" -X stream.model="$MODEL" -X stream.spec.id="$SPEC_ID" \
    -X redis.url="$REDIS_URL" -X group.id="explainq_test_${T}" >"$tmp/worker.log" 2>&1 &
pids+=($!)

head -n 5 tests/data/instances/mlp20.jsonl >"$tmp/five"
i=0
while read -r line; do
    printf '%s' "$line" >"$tmp/m$i"
    "$BUILD/test_kafkatool" produce "$IN" "k$i" "$tmp/m$i"
    i=$((i + 1))
done <"$tmp/five"
printf '{"instances": [%s, %s]}' "$(sed -n 1p "$tmp/five")" "$(sed -n 2p "$tmp/five")" >"$tmp/log"
"$BUILD/test_kafkatool" produce "$IN" "log" "$tmp/log"
printf 'not json, not msgpack' >"$tmp/bad"
"$BUILD/test_kafkatool" produce "$IN" "bad" "$tmp/bad"

rc=0 # one message fails on purpose, so collect exits 1 once all 7 are in
"$X" collect -b "$B" --topic "$RES" --count 7 --out "$tmp/out" --timeout 120 2>"$tmp/err" || rc=$?
[ "$rc" = 1 ] && grep -q '7 of 7 jobs' "$tmp/err" || { cat "$tmp/err" "$tmp/worker.log"; exit 1; }
cat "$tmp/err"
[ "$(grep -c '"attributions"' "$tmp/out")" -eq 7 ]           # 5 single instances + a log of 2
grep -q '"id":"'"$IN"'-[01]-[0-9]*","error":{"code":"invalid_argument","field":"instances"' "$tmp/out"
grep -q '1 failed' "$tmp/err"
"$BUILD/test_kafkatool" dlq "$DLQ" 1 30 | grep -q "dlq invalid_argument"
echo "stream: prediction logs explained, the bad message answered and dead-lettered"
