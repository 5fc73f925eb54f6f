#!/usr/bin/env bash
# 0130-onnxruntime: .onnx models that only load through onnxruntime (external data, a fixed
# batch of 1, ai.onnx.ml) explained from the CLI, their instance outputs equal to numpy's
# (tests/data/onnx/ort/ref.json); gradient methods refused with what to do; `model info`.
set -euo pipefail
X="$EXPLAINQ"
D=tests/data/onnx/ort
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# the 7 rows of ref.json's x as instances of one feature "x" (6 values)
python3 -c '
import json, sys
for row in json.load(open(sys.argv[1]))["x"]:
    print(json.dumps({"x": row}))' "$D/ref.json" >"$tmp/x.jsonl"
cat >"$tmp/shapley.json" <<'SPEC'
{"parameters": {"sampledShapleyAttribution": {"pathCount": 3}, "outputIndices": [0]},
 "metadata": {"inputs": {"x": {}}, "outputs": {"y": {}}}}
SPEC
cat >"$tmp/ig.json" <<'SPEC'
{"parameters": {"integratedGradientsAttribution": {"stepCount": 4}, "outputIndices": [0]},
 "metadata": {"inputs": {"x": {}}, "outputs": {"y": {}}}}
SPEC

# instanceOutputValue of every line equals column 0 of ref.json[key] within 1e-5 relative
check() { # results key
    python3 - "$1" "$D/ref.json" "$2" <<'PY'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1])]
want = [r[0] for r in json.load(open(sys.argv[2]))[sys.argv[3]]]
assert len(res) == len(want) == 7, (len(res), len(want))
for r, w in zip(res, want):
    got = r["attributions"][0]["instanceOutputValue"]
    assert abs(got - w) <= 1e-5 * abs(w) + 1e-6, (got, w)
    s = sum(r["attributions"][0]["featureAttributions"]["x"])
    d = got - r["attributions"][0]["baselineOutputValue"]
    assert abs(s - d) <= 1e-4 * max(1, abs(d)), (s, d)  # Shapley's efficiency
PY
}
for m in ext:mlp fixed1:mlp ml:ml erf:erf; do
    "$X" explain --spec "$tmp/shapley.json" --model "$D/${m%%:*}.onnx" --instances "$tmp/x.jsonl" \
        --out "$tmp/out.jsonl"
    check "$tmp/out.jsonl" "${m##*:}"
done

# IG on a model the interpreter cannot take: an error per instance that says what to do
set +e
"$X" explain --spec "$tmp/ig.json" --model "$D/nograd.onnx" --instances "$tmp/x.jsonl" \
    --out "$tmp/out.jsonl" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" -eq 1 ]
grep -q 'lacks Sin (2 nodes, first: sin_1), Cos (1 node: cos_1); Sampled Shapley works' "$tmp/out.jsonl"
# ... and IG on one it can: the interpreter's gradients, completeness within 1e-3
"$X" explain --spec "$tmp/ig.json" --model "$D/erf.onnx" --instances "$tmp/x.jsonl" --out "$tmp/out.jsonl"
python3 - "$tmp/out.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)["attributions"][0]
    assert a["approximationError"] < 1e-2, a["approximationError"]
PY

# model info: tensors, element types, operators, gradients
"$X" model info "$D/nograd.onnx" >"$tmp/info"
grep -qx '  x  \[N, 6\]' "$tmp/info"
grep -qx '  x  float32 \[N, 6\]' "$tmp/info"
grep -q 'Sin\* 2 Cos\* 1' "$tmp/info"
grep -q '^gradients: no: explainq.s interpreter lacks Sin' "$tmp/info"
"$X" model info tests/data/onnx/emb.onnx >"$tmp/info"
grep -qx '  tokens  int64 \[N, 5\]' "$tmp/info"
grep -qx '  emb  \[N, 5, 4\]' "$tmp/info"
grep -qx 'gradients: yes (explainq.s interpreter; forward rows by onnxruntime)' "$tmp/info"
"$X" model info tests/data/xgboost/binary.json >"$tmp/info"
grep -qx '  features  \[N, 6\]' "$tmp/info"
grep -q '^gradients: no: xgboost models have no gradients' "$tmp/info"
set +e
"$X" model info /nonexistent.onnx 2>"$tmp/err"; [ $? -eq 1 ] || exit 1
"$X" model frob >/dev/null 2>&1; [ $? -eq 2 ] || exit 1
set -e
echo "0130: ok"
