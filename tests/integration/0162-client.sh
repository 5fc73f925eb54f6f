#!/usr/bin/env bash
# 0162-client: explainq.Client explains a 10,000-row pandas DataFrame end to end (a callable
# runner serving scikit-learn, a real worker, the real broker): one result per row in input
# order, with a progress bar; the one bad row yields one per-instance error, the rest succeed.
# Two runners share the model's requests and stop cleanly on SIGTERM.
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
rpids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT

"$PY" tests/integration/torch_models.py sklearn "$D"
"$X" topics create -b "$B" --partitions 4 "$JOBS" "$RES" "$DLQ" "$REP" "explain.infer.sk$T"
# two runners share the model's partitions (cooperative-sticky, explainq-runners-sk$T)
for i in 1 2; do
    PYTHONPATH="$D" "$RUNNER" callable skmodel:predict_proba --input features:4 \
        --output-name probs --name "sk$T" -b "$B" -X kafka.consumer.session.timeout.ms=6000 \
        -X kafka.consumer.heartbeat.interval.ms=500 >"$D/runner$i.log" 2>&1 &
    pids+=($!)
    rpids+=($!)
done
for _ in $(seq 1 120); do
    if grep -q "assigned partitions=[1-9]" "$D/runner1.log" &&
        grep -q "assigned partitions=[1-9]" "$D/runner2.log"; then
        break
    fi
    sleep 0.5
done
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
    >"$D/worker.log" 2>&1 &
pids+=($!)
"$PY" tests/integration/client_check.py "$D" "$B" "sk$T" "$JOBS" "$RES" 2>"$D/client.err" ||
    { cat "$D/client.err" "$D/worker.log" | tail -40; exit 1; }
grep -q "10000/10000" "$D/client.err" || { cat "$D/client.err"; exit 1; }
echo "client: 10000 rows explained in order with progress; one bad row, one error"
for i in 1 2; do kill -TERM "${rpids[$((i - 1))]}"; done
for i in 1 2; do
    wait "${rpids[$((i - 1))]}"
    grep -E "stopping served=[1-9][0-9]* " "$D/runner$i.log" ||
        { echo "runner $i served nothing"; cat "$D/runner$i.log"; exit 1; }
done
echo "runners: two callable runners shared the requests and stopped on SIGTERM"
