#!/usr/bin/env bash
# 0142-user-forms: instances and specs as Vertex users hold them, through the CLI and a worker:
#   A. JSON lines, a {"instances": [...]} document, CSV, numbers as strings and bare arrays give
#      the same explanations as the plain JSON lines
#   B. a spec in two halves (--metadata + --parameters) and inside a Model resource: the same id
#      and the same results; spec put of the halves; errors name the half
#   C. submit reads CSV too, and the worker's results equal explain's; null refused by a network
set -euo pipefail
X="$EXPLAINQ"
T="u$$"
B="$KAFKA_BOOTSTRAP"
SPEC=tests/data/specs/mlp20_shapley.json
MODEL=tests/data/onnx/mlp20.onnx
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

python3 - "$tmp" "$SPEC" <<'PYEOF'
import json, sys
d, spec = sys.argv[1], json.load(open(sys.argv[2]))
rows = [json.loads(l) for l in open("tests/data/instances/mlp20.jsonl")][:20]
keys = list(rows[0])
open(f"{d}/in.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
json.dump({"instances": rows}, open(f"{d}/body.json", "w"), indent=2)
open(f"{d}/str.jsonl", "w").write("".join(json.dumps({k: str(v) for k, v in r.items()}) + "\n"
                                          for r in rows))
with open(f"{d}/in.csv", "w") as f:
    f.write(",".join(keys) + "\r\n")
    for r in rows:
        f.write(",".join(f'"{r[k]!r}"' if i % 2 else repr(r[k]) for i, k in enumerate(keys)) + "\r\n")
open(f"{d}/arr.jsonl", "w").write("".join(json.dumps([r[k] for k in keys]) + "\n" for r in rows))
json.dump({"parameters": spec["parameters"],
           "metadata": {"inputs": {"features": {}}, "outputs": {"probabilities": {}}}},
          open(f"{d}/one.json", "w"))
json.dump({"features": [r[k] for r in rows[:1] for k in keys]}, open(f"{d}/obj1.json", "w"))
# the halves, as AI Platform's explanation_metadata.json and Model.upload's parameters
meta = dict(spec["metadata"], framework="custom", tags=["explainable_model"])
json.dump(meta, open(f"{d}/explanation_metadata.json", "w"))
json.dump({"sampled_shapley_attribution": {"path_count": 10}, "top_k": 1},
          open(f"{d}/parameters.json", "w"))
json.dump({"name": "projects/p/locations/l/models/42", "displayName": "mlp20",
           "explanationSpec": spec}, open(f"{d}/model.json", "w"))
PYEOF

# A
"$X" explain --spec "$SPEC" --model "$MODEL" --instances "$tmp/in.jsonl" --seed 4 >"$tmp/ref"
for f in body.json str.jsonl in.csv; do
    "$X" explain --spec "$SPEC" --model "$MODEL" --instances "$tmp/$f" --seed 4 >"$tmp/out.$f"
    cmp "$tmp/ref" "$tmp/out.$f"
done
# a bare array is the one input's value: the same numbers under one key
"$X" explain --spec "$tmp/one.json" --model "$MODEL" --instances "$tmp/arr.jsonl" --seed 4 >"$tmp/arr.out"
python3 - "$tmp/ref" "$tmp/arr.out" <<'PYEOF'
import json, sys
a = [json.loads(l)["attributions"][0] for l in open(sys.argv[1])]
b = [json.loads(l)["attributions"][0] for l in open(sys.argv[2])]
for x, y in zip(a, b):
    assert x["instanceOutputValue"] == y["instanceOutputValue"]
    s = sum(y["featureAttributions"]["features"])
    assert abs(s - (y["instanceOutputValue"] - y["baselineOutputValue"])) < 1e-5
PYEOF
echo "A: JSON lines, a request body, strings and CSV explain alike; bare arrays for one input"

# B
ID="$("$X" spec id "$SPEC")"
[ "$("$X" spec id --metadata "$tmp/explanation_metadata.json" --parameters "$tmp/parameters.json")" = "$ID" ]
[ "$("$X" spec id "$tmp/model.json")" = "$ID" ]
[ "$("$X" spec put --metadata "$tmp/explanation_metadata.json" --parameters "$tmp/parameters.json" \
    --redis "$REDIS_URL")" = "$ID" ]
"$X" explain --metadata "$tmp/explanation_metadata.json" --parameters "$tmp/parameters.json" \
    --model "$MODEL" --instances "$tmp/in.jsonl" --seed 4 | cmp - "$tmp/ref"
"$X" explain --spec "$tmp/model.json" --model "$MODEL" --instances "$tmp/in.jsonl" --seed 4 |
    cmp - "$tmp/ref"
echo '{"sampled_shapley_attribution": {"path_count": 99}}' >"$tmp/bad.json"
if "$X" spec validate --metadata "$tmp/explanation_metadata.json" --parameters "$tmp/bad.json" \
    2>"$tmp/err"; then exit 1; fi
grep -q 'parameters.sampledShapleyAttribution.pathCount: 99 is outside \[1, 50\]' "$tmp/err"
echo "B: the halves and the Model resource are the same spec"

# C
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
"$X" topics create -b "$B" --partitions 2 "$JOBS" "$RES" "$DLQ" "explain.infer.mlp$T"
"$X" runner --model "$MODEL" --name "mlp$T" -b "$B" >"$tmp/runner.log" 2>&1 &
pid[runner]=$!
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" >"$tmp/worker.log" 2>&1 &
pid[worker]=$!
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$tmp/model.json" \
    --instances "$tmp/in.csv" --job-size 20 --seed 4 --prefix "c$T" --jobs-out "$tmp/jobs"
grep -qx "c$T-000000	20" "$tmp/jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/jobs" --out "$tmp/k.out" --timeout 120
cmp "$tmp/ref" "$tmp/k.out" || { head -c 600 "$tmp/ref"; echo; head -c 600 "$tmp/k.out"; exit 1; }
head -n 1 "$tmp/in.jsonl" | sed 's/"f00": [^,]*,/"f00": null,/' >"$tmp/null.jsonl"
if "$X" explain --spec "$SPEC" --model "$MODEL" --instances "$tmp/null.jsonl" >"$tmp/null.out" 2>&1; then
    exit 1
fi
grep -q 'instances\[0\].f00.*is null (a missing value)' "$tmp/null.out"
echo "C: CSV through submit and a worker equals explain; null refused for a network"
