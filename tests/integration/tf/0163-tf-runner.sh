#!/usr/bin/env bash
# 0163-tf-runner (make test-tf; needs tensorflow-cpu): `explainq-runner tf` serves a Keras
# model saved as a SavedModel to a real worker on the real broker; its IG equals Gauss-Legendre
# IG computed with tf.GradientTape on the same SavedModel within 1e-5 relative L1.
set -euo pipefail
PY="${EXPLAINQ_PY:-.venv-tf/bin/python}"
RUNNER="${EXPLAINQ_RUNNER:-.venv-tf/bin/explainq-runner}"
X="$EXPLAINQ"
T="f$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies"
D="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT

"$PY" tests/integration/tf/tf_models.py make "$D"
"$X" topics create -b "$B" --partitions 2 "$JOBS" "$RES" "$DLQ" "$REP" "explain.infer.tf$T"
"$RUNNER" tf --saved-model "$D/saved" --name "tf$T" -b "$B" >"$D/runner.log" 2>&1 &
pids+=($!)
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
    >"$D/worker.log" 2>&1 &
pids+=($!)
"$X" submit -b "$B" --topic "$JOBS" --model "tf$T" --spec "$D/ig.json" --instances "$D/tf.jsonl" \
    --prefix "$T" --jobs-out "$D/jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$D/jobs" --out "$D/ig.kafka" --timeout 300 \
    2>"$D/collect.err" || { cat "$D/collect.err" "$D"/*.log; exit 1; }
"$PY" tests/integration/tf/tf_models.py reference "$D"
"$PY" tests/integration/torch_models.py compare "$D/ig.kafka" "$D/ig.reference" 1e-5
echo "tf: IG through the TF runner = tf.GradientTape Gauss-Legendre IG"
