#!/usr/bin/env bash
# 0141-batch: `explainq batch` on Vertex BatchPredictionJob files:
#   A. JSONL objects with keyField, JSONL arrays, CSV (as arrays and as objects) in-process:
#      one line per input in input order, keys kept, explanations equal `explainq explain --seed`,
#      predictions equal the model's outputs, error records for the bad lines, exit 1
#   B. the same job through the Kafka workers (-b): the same lines but for the job seeds
#   C. gs:// and BigQuery are refused with what to do
set -euo pipefail
X="$EXPLAINQ"
T="b$$"
B="$KAFKA_BOOTSTRAP"
PY=python3
SPEC="$PWD/tests/data/specs/mlp20_shapley.json"
MODEL=tests/data/onnx/mlp20.onnx
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

$PY - "$tmp" <<'PYEOF'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open("tests/data/instances/mlp20.jsonl")][:30]
keys = list(rows[0])
with open(f"{d}/obj.jsonl", "w") as f:
    for i, r in enumerate(rows):
        f.write(json.dumps({"id": f"k{i}", **r}) + "\n")
        if i == 10:
            f.write('{"id": "missing", "f00": 1}\n')   # a bad instance
        if i == 20:
            f.write("{not json\n")                     # a bad line
with open(f"{d}/arr.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps([r[k] for k in keys]) + "\n")
with open(f"{d}/in.csv", "w") as f:
    f.write("id," + ",".join(keys) + "\n")
    for i, r in enumerate(rows):
        f.write(f"k{i}," + ",".join(repr(r[k]) for k in keys) + "\n")
    f.write("kx," + ",".join(["x"] * 20) + "\n")       # not numbers
# the explain reference: the same instances, the bad ones in the same places
with open(f"{d}/obj_ref_in.jsonl", "w") as f:
    for i, r in enumerate(rows):
        f.write(json.dumps(r) + "\n")
        if i == 10:
            f.write('{"f00": 1}\n')
        if i == 20:
            f.write("{not json\n")
json.dump({"parameters": {"sampledShapleyAttribution": {"pathCount": 10}},
           "metadata": {"inputs": {"features": {}}, "outputs": {"probabilities": {}}}},
          open(f"{d}/one.json", "w"))
def job(uri, fmt, ic=None):
    j = {"displayName": "mlp20 run", "model": "projects/p/locations/l/models/MODEL",
         "inputConfig": {"instancesFormat": fmt, "gcsSource": {"uris": [uri]}},
         "outputConfig": {"predictionsFormat": "jsonl",
                          "gcsDestination": {"outputUriPrefix": f"file://{d}/out"}},
         "generateExplanation": True}
    if ic:
        j["instanceConfig"] = ic
    return j
json.dump(job(f"file://{d}/obj.jsonl", "jsonl", {"keyField": "id"}), open(f"{d}/obj.json", "w"))
json.dump(job(f"{d}/arr.jsonl", "jsonl"), open(f"{d}/arr.json", "w"))
json.dump(job(f"{d}/in.csv", "csv", {"keyField": "id"}), open(f"{d}/csv_arr.json", "w"))
json.dump(job(f"{d}/in.csv", "csv", {"keyField": "id", "instanceType": "object"}),
          open(f"{d}/csv_obj.json", "w"))
json.dump(job("gs://bucket/in.jsonl", "jsonl"), open(f"{d}/gs.json", "w"))
PYEOF

check() { # $1: output dir, $2: explain reference, $3: keys? (1/0), $4: expected bad positions
    $PY - "$1" "$2" "$3" "$4" <<'PYEOF'
import glob, json, sys
out, ref, keyed, bad = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
bad = [int(b) for b in bad.split(",") if b]
res = [json.loads(l) for l in open(glob.glob(f"{out}/explanation.results-00000-of-00001")[0])]
refs = [json.loads(l) for l in open(ref)]
assert len(res) == len(refs), (len(res), len(refs))
k = 0
for i, (r, w) in enumerate(zip(res, refs)):
    if i in bad:
        assert "error" in r and "prediction" not in r and r["error"]["status"] == "INVALID_ARGUMENT", r
        assert "error" in w, w
        continue
    if keyed:
        assert r["key"] == f"k{k}" and "instance" not in r, r
    else:
        assert "instance" in r
    k += 1
    assert r["explanation"] == w, (i, r["explanation"], w)
    a = w["attributions"][0]
    assert abs(r["prediction"][a["outputIndex"][0]] - a["instanceOutputValue"]) < 1e-6
errs = glob.glob(f"{out}/explanation.errors_stats-00000-of-00001")
if bad:
    e = [json.loads(l) for l in open(errs[0])]
    assert len(e) == len(bad) and all(x["error"]["code"] == 3 for x in e), e
else:
    assert not errs
PYEOF
}
latest() { ls -d "$tmp"/out/prediction-* | sort | tail -n 1; }

# A. in-process
set +e
"$X" explain --spec "$SPEC" --model "$MODEL" --instances "$tmp/obj_ref_in.jsonl" --seed 5 \
    >"$tmp/obj.ref" 2>/dev/null
set -e
for j in obj csv_obj; do
    rc=0
    "$X" batch --job "$tmp/$j.json" --model "$MODEL" --spec "$SPEC" --seed 5 >"$tmp/$j.stats" || rc=$?
    [ "$rc" = 1 ]
    grep -q '"failedCount": "2"\|"failedCount": "1"' "$tmp/$j.stats"
    [ "$j" = obj ] && check "$(latest)" "$tmp/obj.ref" 1 11,22
done
grep -q '"successfulCount": "30", "failedCount": "2"' "$tmp/obj.stats"
grep -q '"successfulCount": "30", "failedCount": "1"' "$tmp/csv_obj.stats"
"$X" explain --spec "$tmp/one.json" --model "$MODEL" --instances "$tmp/arr.jsonl" --seed 5 >"$tmp/arr.ref"
"$X" batch --job "$tmp/arr.json" --model "$MODEL" --spec "$tmp/one.json" --seed 5 >"$tmp/arr.stats"
check "$(latest)" "$tmp/arr.ref" 0 ""
rc=0
"$X" batch --job "$tmp/csv_arr.json" --model "$MODEL" --spec "$tmp/one.json" --seed 5 \
    >"$tmp/csv_arr.stats" || rc=$?
[ "$rc" = 1 ]
{ cat "$tmp/arr.ref"; echo '{"error": {}}'; } >"$tmp/csv_arr.ref"
check "$(latest)" "$tmp/csv_arr.ref" 1 30
grep -q 'column 2 (f00): \\"x\\" is not a number' "$(latest)/explanation.results-00000-of-00001"
echo "A: jsonl objects (keys, a bad instance, a bad line), jsonl arrays, csv: exact, in order"

# B. through the workers
"$X" topics create -b "$B" --partitions 2 explain.jobs explain.results explain.dlq "explain.infer.mlp$T"
"$X" topics create -b "$B" --partitions 2 explain.replies
"$X" runner --model "$MODEL" --name "mlp$T" -b "$B" >"$tmp/runner.log" 2>&1 &
pid[runner]=$!
"$X" worker -b "$B" -X group.id="explainq_test_${T}_workers" -X redis.url="$REDIS_URL" \
    >"$tmp/worker.log" 2>&1 &
pid[worker]=$!
rc=0
"$X" batch --job "$tmp/obj.json" -b "$B" --model-name "mlp$T" --spec "$SPEC" --seed 5 \
    --job-size 1000 >"$tmp/k.stats" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/k.stats" "$tmp/worker.log"; exit 1; }
grep -q '"successfulCount": "30", "failedCount": "2"' "$tmp/k.stats"
# one job of 30 good instances: instance i draws stream i of seed 5, as explain on them alone
head -n 30 tests/data/instances/mlp20.jsonl >"$tmp/good.jsonl"
"$X" explain --spec "$SPEC" --model "$MODEL" --instances "$tmp/good.jsonl" --seed 5 >"$tmp/good.ref"
$PY - "$(latest)" "$tmp/good.ref" <<'PYEOF'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1] + "/explanation.results-00000-of-00001")]
ref = [json.loads(l) for l in open(sys.argv[2])]
good = [r for r in res if "error" not in r]
assert [r["key"] for r in good] == [f"k{i}" for i in range(30)]
assert [r["explanation"] for r in good] == ref
assert "error" in res[11] and "error" in res[22]
PYEOF
echo "B: through the workers: the same lines, errors in place"

# C. refused inputs
rc=0
"$X" batch --job "$tmp/gs.json" --model "$MODEL" --spec "$SPEC" 2>"$tmp/gs.err" || rc=$?
[ "$rc" = 2 ]
grep -q 'uris\[0\]: gs:// is not supported here' "$tmp/gs.err"
echo "C: gs:// refused with what to do"
