#!/usr/bin/env bash
# 0008-labels: displayNameMappingKey over Kafka: a runner serving an HTTP model passes the
# server's class names on in its description, and the worker's results carry them.
set -euo pipefail
X="$EXPLAINQ"
T="l$$"
B="$KAFKA_BOOTSTRAP"
IN="explainq_test_${T}_predictions" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
MODEL="cls$T"
tmp="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

python3 tests/integration/model_server.py >"$tmp/port" 2>"$tmp/server.err" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port="$(cat "$tmp/port")"
cat >"$tmp/cls.json" <<'JSON'
{"parameters": {"sampledShapleyAttribution": {"pathCount": 3}},
 "metadata": {"inputs": {"a": {}, "b": {}, "c": {}},
              "outputs": {"scores": {"displayNameMappingKey": "classes"}}}}
JSON

"$X" topics create -b "$B" --partitions 1 "$IN" "$RES" "$DLQ" "explain.infer.$MODEL"
SPEC_ID="$("$X" spec put "$tmp/cls.json" --redis "$REDIS_URL")"
"$X" runner --model "http://127.0.0.1:$port/v1/models/cls:predict#in=x:3&out=scores:2" \
    --name "$MODEL" -b "$B" >"$tmp/runner.log" 2>&1 &
pids+=($!)
"$X" worker -b "$B" --input-format instances -X input.topic="$IN" -X topic.results="$RES" \
    -X topic.dlq="$DLQ" -X stream.model="$MODEL" -X stream.spec.id="$SPEC_ID" \
    -X redis.url="$REDIS_URL" -X group.id="explainq_test_${T}" >"$tmp/worker.log" 2>&1 &
pids+=($!)

printf '{"a": 3, "b": 4, "c": 2}' >"$tmp/m0"
printf '{"a": 0, "b": 5, "c": 0}' >"$tmp/m1"
"$BUILD/test_kafkatool" produce "$IN" k0 "$tmp/m0"
"$BUILD/test_kafkatool" produce "$IN" k1 "$tmp/m1"
"$X" collect -b "$B" --topic "$RES" --count 2 --out "$tmp/out" --timeout 120 2>"$tmp/err" ||
    { cat "$tmp/err" "$tmp/worker.log" "$tmp/runner.log"; exit 1; }
# f(3,4,2) = 4 > 0, so argmax is "pos"; f(0,5,0) = -4, so "neg"
grep -q '"outputIndex":\[0\],"outputDisplayName":"pos"' "$tmp/out" || { cat "$tmp/out"; exit 1; }
grep -q '"outputIndex":\[1\],"outputDisplayName":"neg"' "$tmp/out" || { cat "$tmp/out"; exit 1; }
echo "labels: display names travelled from the model server through the runner to the results"
