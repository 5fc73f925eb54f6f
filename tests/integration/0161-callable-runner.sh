#!/usr/bin/env bash
# 0161-callable-runner: `explainq-runner callable` serves a scikit-learn model's predict_proba
# (forward only) to a real `explainq worker`: Sampled Shapley values sum to f(x) - f(baseline)
# for both outputs, f being scikit-learn's own predict_proba; a gradient method gets an error
# result naming the model, and the runner goes on.
set -euo pipefail
PY="${EXPLAINQ_PY:-.venv/bin/python}"
RUNNER="${EXPLAINQ_RUNNER:-.venv/bin/explainq-runner}"
X="$EXPLAINQ"
T="c$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies"
D="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT
TM=tests/integration/torch_models.py

"$PY" "$TM" sklearn "$D"
"$X" topics create -b "$B" --partitions 2 "$JOBS" "$RES" "$DLQ" "$REP" "explain.infer.sk$T"
PYTHONPATH="$D" "$RUNNER" callable skmodel:predict_proba --input features:4 \
    --output-name probs --name "sk$T" -b "$B" >"$D/runner.log" 2>&1 &
pids+=($!)
runner_pid=$!
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
    >"$D/worker.log" 2>&1 &
pids+=($!)

"$X" submit -b "$B" --topic "$JOBS" --model "sk$T" --spec "$D/shapley.json" \
    --instances "$D/sk.jsonl" --job-size 10 --prefix "$T-s" --jobs-out "$D/jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$D/jobs" --out "$D/shapley.out" --timeout 180 \
    2>"$D/collect.err" || { cat "$D/collect.err" "$D"/*.log; exit 1; }
"$PY" "$TM" shapley "$D" "$D/shapley.out"
echo "A: Sampled Shapley through the callable runner sums to f(x) - f(baseline)"

python3 - "$D/shapley.json" "$D/ig.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["parameters"] = {"integratedGradientsAttribution": {"stepCount": 5}}
json.dump(s, open(sys.argv[2], "w"))
PY
head -3 "$D/sk.jsonl" >"$D/three.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "sk$T" --spec "$D/ig.json" \
    --instances "$D/three.jsonl" --prefix "$T-g" --jobs-out "$D/jobs2"
"$X" collect -b "$B" --topic "$RES" --jobs "$D/jobs2" --out "$D/ig.out" --timeout 180 \
    2>"$D/collect.err" || true
grep -q "gives no gradients" "$D/ig.out" || { cat "$D/ig.out" "$D"/*.log; exit 1; }
grep -q "error reply id=.*field=model: a Python callable gives no gradients" "$D/runner.log"
kill -TERM "$runner_pid"
wait "$runner_pid"
grep -E "stopping served=[1-9][0-9]* failed=[1-9]" "$D/runner.log"
echo "B: a gradient request gets an error reply naming the model; the runner went on and stopped"
