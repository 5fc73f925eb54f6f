#!/usr/bin/env bash
# 0162-client: explainq.Client explains a 10,000-row pandas DataFrame end to end (a callable
# runner serving scikit-learn, a real worker, the real broker): one result per row in input
# order, with a progress bar; the one bad row yields one per-instance error, the rest succeed.
set -euo pipefail
PY="${EXPLAINQ_PY:-.venv/bin/python}"
RUNNER="${EXPLAINQ_RUNNER:-.venv/bin/explainq-runner}"
X="$EXPLAINQ"
T="q$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies"
D="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT

"$PY" tests/integration/torch_models.py sklearn "$D"
"$X" topics create -b "$B" --partitions 4 "$JOBS" "$RES" "$DLQ" "$REP" "explain.infer.sk$T"
PYTHONPATH="$D" "$RUNNER" callable skmodel:predict_proba --input features:4 \
    --output-name probs --name "sk$T" -b "$B" >"$D/runner.log" 2>&1 &
pids+=($!)
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
    >"$D/worker.log" 2>&1 &
pids+=($!)
"$PY" tests/integration/client_check.py "$D" "$B" "sk$T" "$JOBS" "$RES" 2>"$D/client.err" ||
    { cat "$D/client.err" "$D/worker.log" | tail -40; exit 1; }
grep -q "10000/10000" "$D/client.err" || { cat "$D/client.err"; exit 1; }
echo "client: 10000 rows explained in order with progress; one bad row, one error"
