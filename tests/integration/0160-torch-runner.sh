#!/usr/bin/env bash
# 0160-torch-runner: `explainq-runner torch` (worker/python) serves TorchScript models to a real
# `explainq worker` on the real broker.
#   A. IG on an MLP: the worker's attributions equal Captum's Gauss-Legendre IG on the same
#      module within 1e-5 relative L1, and `explainq explain` on the model exported to ONNX
#   B. SmoothGrad (same seed): the worker through torch = `explain` on the ONNX export
#   C. XRAI on a CNN: the worker through torch = `explain` on the ONNX export
#   D. text IG over an embedding named by dotted path (encodedTensorName "encoder.embed" of a
#      module:factory): the worker encodes token ids with the table the runner describes, the
#      runner takes gradients at that submodule; equal to Captum's LayerIntegratedGradients
#   E. example-based: a runner serving the submodule encoder.embed (--output, the spec's
#      latentSpaceSource) builds an index with `explainq index build`; the worker's neighbours
#      equal brute force over the torch embeddings
#   F. SIGTERM stops the runner cleanly, with every request served
set -euo pipefail
PY="${EXPLAINQ_PY:-.venv/bin/python}"
RUNNER="${EXPLAINQ_RUNNER:-.venv/bin/explainq-runner}"
# the Python runner of this checkout, whatever copy the venv has installed
export PYTHONPATH="$PWD/worker/python${PYTHONPATH:+:$PYTHONPATH}"
X="$EXPLAINQ"
T="t$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies"
D="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT
TM=tests/integration/torch_models.py

"$PY" "$TM" make "$D"
"$X" topics create -b "$B" --partitions 2 "$JOBS" "$RES" "$DLQ" "$REP" \
    "explain.infer.mlp$T" "explain.infer.cnn$T" "explain.infer.text$T" "explain.infer.emb$T" \
    "explain.infer.mlp1$T"
"$RUNNER" torch --model "$D/mlp.pt" --input features:8 --output-name probs --name "mlp$T" \
    -b "$B" >"$D/mlp.log" 2>&1 &
pids+=($!)
mlp_pid=$!
PYTHONPATH="tests/integration:$PYTHONPATH" "$RUNNER" torch --model torch_models:text_model \
    --input tokens:6:int64 --encoded encoder.embed --output-name probs --name "text$T" \
    -b "$B" >"$D/text.log" 2>&1 &
pids+=($!)
PYTHONPATH="tests/integration:$PYTHONPATH" "$RUNNER" torch --model torch_models:text_model \
    --input tokens:6:int64 --output encoder.embed --name "emb$T" -b "$B" >"$D/emb.log" 2>&1 &
pids+=($!)
# the same model from a runner announcing compact version 1 (as older runners do)
"$PY" -c 'import sys; from explainq import cli, protocol; protocol.COMPACT_VERSION = 1; sys.argv[0] = "explainq-runner"; sys.exit(cli.main())' \
    torch --model "$D/mlp.pt" --input features:8 --output-name probs --name "mlp1$T" \
    -b "$B" >"$D/mlp1.log" 2>&1 &
pids+=($!)
"$RUNNER" torch --model "$D/cnn.pt" --input image:1x16x16 --output-name probs --name "cnn$T" \
    -b "$B" >"$D/cnn.log" 2>&1 &
pids+=($!)
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
    >"$D/worker.log" 2>&1 &
pids+=($!)

run() { # $1 model, $2 spec, $3 instances, $4 out
    "$X" submit -b "$B" --topic "$JOBS" --model "$1$T" --spec "$2" --instances "$3" \
        --job-size 100 --seed 5 --prefix "$T-$(basename "$4")" --jobs-out "$D/jobs"
    "$X" collect -b "$B" --topic "$RES" --jobs "$D/jobs" --out "$4" --timeout 180 \
        2>"$D/collect.err" || { cat "$D/collect.err" "$D"/*.log; exit 1; }
    if grep -q '"error"' "$4"; then cat "$4" "$D"/*.log; exit 1; fi
}

# A
run mlp "$D/ig.json" "$D/mlp.jsonl" "$D/ig.kafka"
"$PY" "$TM" captum "$D" "$D/ig.captum"
"$PY" "$TM" compare "$D/ig.kafka" "$D/ig.captum" 1e-5
"$X" explain --spec "$D/ig.json" --model "$D/mlp.onnx" --instances "$D/mlp.jsonl" \
    --seed 5 --out "$D/ig.onnx"
"$PY" "$TM" compare "$D/ig.kafka" "$D/ig.onnx" 1e-5
echo "A: IG through the torch runner = Captum (Gauss-Legendre) = explain on the ONNX export"
# ... and its gradient rows went as compact path records (version 2): 40 instances x 20 steps
# of 8 f32 would be 25,600 bytes of rows alone; path records cost 8 bytes a row
grep -q "model mlp$T: .*compact requests v2" "$D/worker.log" || { echo "A: no compact v2"; exit 1; }
read -r _ ig_bytes < <("$BUILD/test_kafkatool" bytes "explain.infer.mlp$T" 2)
[ "$ig_bytes" -lt 25600 ] || { echo "A: IG requests took $ig_bytes bytes: not compact"; exit 1; }
echo "A: IG requests compact (v2 path records): $ig_bytes bytes for 40 instances"
# a runner that announced version 1 gets the same IG rows as plain tensors, and the same answers
run mlp1 "$D/ig.json" "$D/mlp.jsonl" "$D/ig1.kafka"
"$PY" "$TM" compare "$D/ig1.kafka" "$D/ig.onnx" 1e-5
grep -q "model mlp1$T: .*compact requests v1" "$D/worker.log" || { echo "A: no v1"; exit 1; }
read -r _ ig1_bytes < <("$BUILD/test_kafkatool" bytes "explain.infer.mlp1$T" 2)
[ "$ig1_bytes" -gt 25600 ] || { echo "A: IG requests to a v1 runner took $ig1_bytes bytes"; exit 1; }
echo "A: a version-1 runner gets plain IG rows ($ig1_bytes bytes) and gives the same attributions"

# B
run mlp "$D/smooth.json" "$D/mlp.jsonl" "$D/smooth.kafka"
"$X" explain --spec "$D/smooth.json" --model "$D/mlp.onnx" --instances "$D/mlp.jsonl" \
    --seed 5 --out "$D/smooth.onnx"
"$PY" "$TM" compare "$D/smooth.kafka" "$D/smooth.onnx" 1e-5
echo "B: SmoothGrad through the torch runner = explain on the ONNX export"

# C
run cnn "$D/xrai.json" "$D/cnn.jsonl" "$D/xrai.kafka"
"$X" explain --spec "$D/xrai.json" --model "$D/cnn.onnx" --instances "$D/cnn.jsonl" \
    --seed 5 --out "$D/xrai.onnx"
"$PY" "$TM" compare "$D/xrai.kafka" "$D/xrai.onnx" 1e-5
echo "C: XRAI through the torch runner = explain on the ONNX export"

# D
run text "$D/text.json" "$D/text.jsonl" "$D/text.kafka"
"$PY" "$TM" captum-text "$D" "$D/text.captum"
"$PY" "$TM" compare "$D/text.kafka" "$D/text.captum" 1e-5
echo "D: text IG over encoder.embed through the torch runner = Captum's LayerIntegratedGradients"

# E
"$PY" "$TM" examples "$D"
"$X" index build --spec "$D/examples.json" --model "emb$T" -b "$B" --reply-topic "$REP" \
    --examples "$D/examples.jsonl" --redis "$REDIS_URL" >"$D/index.id"
run emb "$D/examples.json" "$D/queries.jsonl" "$D/neighbors.kafka"
"$PY" "$TM" neighbors "$D" "$D/neighbors.kafka"
echo "E: neighbours in the latent space of encoder.embed, served by the torch runner"

# F
kill -TERM "$mlp_pid"
rc=0
wait "$mlp_pid" || rc=$?
[ "$rc" -eq 0 ] || { echo "runner exited $rc"; cat "$D/mlp.log"; exit 1; }
grep -E "stopping served=[1-9][0-9]* failed=0" "$D/mlp.log"
echo "F: the torch runner stopped cleanly on SIGTERM"
