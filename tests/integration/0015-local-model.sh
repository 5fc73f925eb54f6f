#!/usr/bin/env bash
# 0015-local-model: a worker that evaluates a model itself (-X models=NAME=FILE), no runner:
#   A. 1,000 instances of Sampled Shapley equal explainq explain bit for bit
#   B. Integrated Gradients (gradients from the local ONNX interpreter) equal explain bit for bit
#   C. a job for a model that is neither local nor served by a runner gets an error result naming it
set -euo pipefail
X="$EXPLAINQ"
T="l$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies"
tmp="$(mktemp -d)"
wpid=""
cleanup() {
    [ -n "$wpid" ] && kill -9 "$wpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$tmp/w.log"; exit 1; }

"$X" topics create -b "$B" --partitions 4 "$JOBS" "$RES" "$DLQ" "explain.infer.none$T"
"$X" topics create -b "$B" --partitions 4 "$REP"
# a bad models option is a configuration error
rc=0
"$X" worker -b "$B" -X models="mlp$T" 2>"$tmp/bad.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "is not NAME=FILE" "$tmp/bad.err" || fail "models=mlp: exit $rc"
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
    -X request.timeout.ms=1000 -X request.retries=1 \
    -X models="mlp$T=tests/data/onnx/mlp20.onnx,cnn$T=tests/data/onnx/mlp20.onnx" >"$tmp/w.log" 2>&1 &
wpid=$!

for i in $(seq 1 10); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in1000.jsonl"
SPEC=tests/data/specs/mlp20_shapley.json
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$SPEC" --instances "$tmp/in1000.jsonl" \
    --job-size 100 --seed 3 --prefix "A$T" --jobs-out "$tmp/a.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/a.jobs" --out "$tmp/a.out" --timeout 120 \
    2>"$tmp/collect.err" || fail "collect A: $(cat "$tmp/collect.err")"
split -l 100 -d -a 3 "$tmp/in1000.jsonl" "$tmp/chunk_"
for f in "$tmp"/chunk_*; do
    "$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$f" --seed 3
done >"$tmp/a.ref"
cmp "$tmp/a.ref" "$tmp/a.out" || fail "A: the local model's results differ from explain"
echo "A: 1000 instances through a local model equal explain bit for bit"

IG=tests/data/specs/mlp20_ig.json
head -n 50 tests/data/instances/mlp20.jsonl >"$tmp/in50.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$IG" --instances "$tmp/in50.jsonl" \
    --job-size 50 --seed 4 --prefix "B$T" --jobs-out "$tmp/b.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/b.jobs" --out "$tmp/b.out" --timeout 120 \
    2>"$tmp/collect.err" || fail "collect B"
"$X" explain --spec "$IG" --model tests/data/onnx/mlp20.onnx --instances "$tmp/in50.jsonl" \
    --seed 4 >"$tmp/b.ref"
cmp "$tmp/b.ref" "$tmp/b.out" || fail "B: IG through the local model differs from explain"
echo "B: Integrated Gradients through the local model equal explain bit for bit"

"$X" submit -b "$B" --topic "$JOBS" --model "none$T" --spec "$SPEC" --instances "$tmp/in50.jsonl" \
    --job-size 50 --prefix "C$T" --jobs-out "$tmp/c.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/c.jobs" --out "$tmp/c.out" --timeout 60 \
    2>"$tmp/collect.err" || true
grep -q '"error":{"code":"timeout","field":"model","message":"no runner answered for model none'"$T" \
    "$tmp/c.out" || fail "C: $(head -c 300 "$tmp/c.out")"
echo "C: a model neither local nor served: an error result naming it"
kill -TERM "$wpid"
wait "$wpid" || fail "the worker exited $?"
wpid=""
echo "local-model: all parts passed"
