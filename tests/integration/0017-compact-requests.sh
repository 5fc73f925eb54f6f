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
. "$(dirname "${BASH_SOURCE[0]}")/workers_lib.sh"

"$X" topics create -b "$B" --partitions 4 "explain.infer.mlp$T" "explain.infer.ort$T" >/dev/null
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
