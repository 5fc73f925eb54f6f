#!/usr/bin/env bash
# 0011-xrai: XRAI end to end on a CNN trained so that one bright square decides the class
# (tests/models/make_shapes.py); the images arrive as {"b64": PNG}.
#   A. `explain`: XRAI's top region overlaps the square, with the full and the fast selection
#   B. a visualization gives {"b64_jpeg": ...} as Vertex does ({"b64_png": ...} with --viz-png);
#      `explainq render` writes PNGs of it and of raw arrays
#   C. the worker on Kafka gives the same attributions as `explain`
set -euo pipefail
X="$EXPLAINQ"
T="x$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies" MODEL="shapes$T"
SPEC=tests/data/specs/xrai_shapes.json
IMAGES=tests/data/xrai/shapes.jsonl
D="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT

overlaps() { # $1: results: the pixels of each instance's top region meet its square
    python3 - "$1" tests/data/xrai/shapes_boxes.json <<'PY'
import json, sys
boxes = json.load(open(sys.argv[2]))
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == len(boxes), f"{len(lines)} results for {len(boxes)} images"
for i, (r, (y0, x0, y1, x1)) in enumerate(zip(lines, boxes)):
    a = r["attributions"][0]
    assert a["outputIndex"] == [1], f"image {i}: class {a['outputIndex']}, want 1"
    img = a["featureAttributions"]["image"]
    assert len(img) == 64 and all(len(row) == 64 for row in img), "not [64][64]"
    top = max(v for row in img for v in row)
    region = [(y, x) for y, row in enumerate(img) for x, v in enumerate(row) if v == top]
    inside = sum(1 for y, x in region if y0 <= y < y1 and x0 <= x < x1)
    assert inside > 0, f"image {i}: the top region ({len(region)} px) misses the square"
    print(f"image {i}: top region {len(region)} px, {inside} of them on the square "
          f"({(y1 - y0) * (x1 - x0)} px)")
PY
}

# A
"$X" explain --spec "$SPEC" --model tests/data/onnx/shapes.onnx --instances "$IMAGES" >"$D/full.out"
overlaps "$D/full.out"
"$X" explain --spec "$SPEC" --model tests/data/onnx/shapes.onnx --instances "$IMAGES" \
    --xrai-fast >"$D/fast.out"
overlaps "$D/fast.out"
echo "A: the top XRAI region overlaps the deciding square (full and fast)"

# B
python3 - "$SPEC" "$D/viz.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["metadata"]["inputs"]["image"]["visualization"] = {"overlayType": "ORIGINAL"}
json.dump(s, open(sys.argv[2], "w"))
PY
"$X" explain --spec "$D/viz.json" --model tests/data/onnx/shapes.onnx --instances "$IMAGES" >"$D/viz.out"
"$X" explain --spec "$D/viz.json" --model tests/data/onnx/shapes.onnx --instances "$IMAGES" \
    --viz-png >"$D/vizpng.out"
for n in 1 4; do
    "$X" render --in "$D/viz.out" --line "$n" --out "$D/viz$n.png"
    "$X" render --in "$D/full.out" --line "$n" --out "$D/raw$n.png"
done
python3 - "$D" <<'PY'
import base64, json, struct, sys
d = sys.argv[1]
def size(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", png[16:24])
b64 = json.loads(open(d + "/viz.out").readline())["attributions"][0]["featureAttributions"]["image"]
jpg = base64.b64decode(b64["b64_jpeg"])
assert jpg[:3] == b"\xff\xd8\xff", "not a JPEG"
i = 2  # the frame header (SOF0) holds the height and width
while jpg[i + 1] != 0xC0:
    i += 2 + struct.unpack(">H", jpg[i + 2:i + 4])[0]
assert struct.unpack(">HH", jpg[i + 5:i + 9]) == (64, 64)
b64 = json.loads(open(d + "/vizpng.out").readline())["attributions"][0]["featureAttributions"]["image"]
assert size(base64.b64decode(b64["b64_png"])) == (64, 64)
for n in (1, 4):
    for kind in ("viz", "raw"):
        assert size(open(f"{d}/{kind}{n}.png", "rb").read()) == (64, 64)
PY
if "$X" render --in "$D/viz.out" --line 9 --out "$D/none.png" 2>"$D/err"; then exit 1; fi
grep -q "has no line 9" "$D/err"
echo "B: pictures in results and from explainq render"

# C
"$X" topics create -b "$B" --partitions 1 "$JOBS" "$RES" "$DLQ" "explain.infer.$MODEL" "$REP"
"$X" runner --model tests/data/onnx/shapes.onnx --name "$MODEL" -b "$B" >"$D/runner.log" 2>&1 &
pids+=($!)
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
    >"$D/worker.log" 2>&1 &
pids+=($!)
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$IMAGES" \
    --job-size 2 --seed 0 --prefix "x-$T" --jobs-out "$D/jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$D/jobs" --out "$D/kafka.out" --timeout 120 \
    2>"$D/collect.err" || { cat "$D/collect.err" "$D/worker.log"; exit 1; }
python3 - "$D/full.out" "$D/kafka.out" <<'PY'
import json, sys
a = [json.loads(l)["attributions"] for l in open(sys.argv[1])]
b = [json.loads(l)["attributions"] for l in open(sys.argv[2])]
assert a == b, "the worker's XRAI attributions differ from explain's"
PY
echo "C: the worker's XRAI results equal explain's"
