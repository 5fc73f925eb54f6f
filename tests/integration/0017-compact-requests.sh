#!/usr/bin/env bash
# 0017-compact-requests: the same 1,000 instances of Sampled Shapley (mlp20, seed 3) explained by
#   A. a worker sending compact requests to `explainq runner` (the ONNX interpreter),
#   B. a worker sending full rows (-X compact.requests=0) to the same runner,
#   C. a worker with the model local (-X models=...),
#   D. `explainq explain` in-process,
# give the same bytes (the interpreter's results do not depend on batching); the compact worker
# did negotiate compact requests and the full one did not.
#   E. the Python runner (onnxruntime) with compact requests and with full rows: within the
#      README's tolerance for onnxruntime of each other and of explain (1e-5 + 1e-4 |value|).
set -euo pipefail
X="$EXPLAINQ"
T="k$$"
B="$KAFKA_BOOTSTRAP"
PY="${EXPLAINQ_PY:-.venv/bin/python}"
# the Python runner of this checkout, whatever copy the venv has installed
export PYTHONPATH="$PWD/worker/python${PYTHONPATH:+:$PYTHONPATH}"
PYRUNNER="${EXPLAINQ_RUNNER:-.venv/bin/explainq-runner}"
SPEC=tests/data/specs/mlp20_shapley.json
MODEL=tests/data/onnx/mlp20.onnx
tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    tail -n 5 "$tmp"/*.log
    exit 1
}

# $1: worker name, then its own -X options
start_worker() {
    local n=$1
    shift
    "$X" topics create -b "$B" --partitions 2 "explainq_test_${T}_${n}_jobs" \
        "explainq_test_${T}_${n}_results" "explainq_test_${T}_${n}_dlq" >/dev/null
    "$X" worker -b "$B" -X topic.jobs="explainq_test_${T}_${n}_jobs" \
        -X topic.results="explainq_test_${T}_${n}_results" -X topic.dlq="explainq_test_${T}_${n}_dlq" \
        -X topic.replies="explainq_test_${T}_replies" -X group.id="explainq_test_${T}_$n" \
        -X worker.id="$n-$T" -X redis.url="$REDIS_URL" "$@" >"$tmp/$n.log" 2>&1 &
    pids+=($!)
}
# $1: worker name, $2: model, $3: instances, $4: seed; results into $tmp/$1.out (job ids: the
# worker and model names, so each part's are new)
explain_via() {
    "$X" submit -b "$B" --topic "explainq_test_${T}_$1_jobs" --model "$2" --spec "$SPEC" \
        --instances "$3" --job-size 100 --seed "$4" --prefix "$1-$2" --jobs-out "$tmp/$1.jobs"
    "$X" collect -b "$B" --topic "explainq_test_${T}_$1_results" --jobs "$tmp/$1.jobs" \
        --out "$tmp/$1.out" --timeout 180 2>"$tmp/$1.collect" || fail "collect $1: $(cat "$tmp/$1.collect")"
}

"$X" topics create -b "$B" --partitions 4 "explainq_test_${T}_replies" "explain.infer.mlp$T" \
    "explain.infer.ort$T" >/dev/null
"$X" runner --model "$MODEL" --name "mlp$T" -b "$B" >"$tmp/runner.log" 2>&1 &
pids+=($!)
start_worker compact
start_worker full -X compact.requests=0
start_worker local -X models="loc$T=$MODEL"

for i in $(seq 1 10); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in1000.jsonl"
explain_via compact "mlp$T" "$tmp/in1000.jsonl" 3
explain_via full "mlp$T" "$tmp/in1000.jsonl" 3
explain_via local "loc$T" "$tmp/in1000.jsonl" 3
split -l 100 -d -a 3 "$tmp/in1000.jsonl" "$tmp/chunk_"
for f in "$tmp"/chunk_*; do
    "$X" explain --spec "$SPEC" --model "$MODEL" --instances "$f" --seed 3
done >"$tmp/ref.out"
[ "$(wc -l <"$tmp/ref.out")" -eq 1000 ] || fail "explain gave $(wc -l <"$tmp/ref.out") lines"
grep -q '"featureAttributions"' "$tmp/ref.out" || fail "no attributions in the reference"
for n in compact full local; do
    cmp "$tmp/ref.out" "$tmp/$n.out" || fail "$n: the results differ from explain"
done
grep -q "model mlp$T: .*compact requests" "$tmp/compact.log" || fail "A: no compact requests"
if grep -q "compact requests" "$tmp/full.log"; then fail "B: compact.requests=0 was not obeyed"; fi
echo "A-D: 1,000 instances equal bit for bit: compact requests, full rows, a local model, explain"

if ! "$PY" -c 'import onnxruntime' 2>/dev/null; then
    echo "E: skipped (no onnxruntime in $PY; make deps installs it)"
    exit 0
fi
"$PYRUNNER" onnx --model "$MODEL" --name "ort$T" -b "$B" >"$tmp/pyrunner.log" 2>&1 &
pids+=($!)
head -n 200 "$tmp/in1000.jsonl" >"$tmp/in200.jsonl"
head -n 200 "$tmp/ref.out" >"$tmp/ref200.out"
explain_via compact "ort$T" "$tmp/in200.jsonl" 3
mv "$tmp/compact.out" "$tmp/ort_compact.out"
explain_via full "ort$T" "$tmp/in200.jsonl" 3
mv "$tmp/full.out" "$tmp/ort_full.out"
grep -q "model ort$T: .*compact requests" "$tmp/compact.log" || fail "E: no compact requests"
"$PY" - "$tmp/ref200.out" "$tmp/ort_compact.out" "$tmp/ort_full.out" <<'PY'
import json, sys

def values(path):
    out = []
    for line in open(path):
        for a in json.loads(line)["attributions"]:
            out += [a["instanceOutputValue"], a["baselineOutputValue"]]
            for v in a["featureAttributions"].values():
                out += v if isinstance(v, list) else [v]
    return out

ref, comp, full = (values(p) for p in sys.argv[1:])
assert len(ref) == len(comp) == len(full) and len(ref) > 200 * 20, (len(ref), len(comp), len(full))
for name, got in (("compact", comp), ("full", full)):
    for i, (a, b) in enumerate(zip(got, ref)):
        assert abs(a - b) <= 1e-5 + 1e-4 * abs(b), f"{name} value {i}: {a} vs explain {b}"
print(f"E: {len(ref)} values through onnxruntime within 1e-5 + 1e-4|v| of explain, compact and full")
PY
echo "compact-requests: all parts passed"
