#!/usr/bin/env bash
# 0005-http-model: the HTTP backend against a real model server, both protocols (KServe v2 and
# Vertex/TF-Serving :predict): exact Shapley values, display names from the server, a clear error for gradients and for a dead server.
set -euo pipefail
tmp="$(mktemp -d)"
python3 tests/integration/model_server.py >"$tmp/port" 2>"$tmp/server.err" &
srv=$!
trap 'kill $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port="$(cat "$tmp/port")"

cat >"$tmp/spec.json" <<'JSON'
{"parameters": {"sampledShapleyAttribution": {"pathCount": 3}},
 "metadata": {"inputs": {"a": {}, "b": {}, "c": {}}, "outputs": {"y": {}}}}
JSON
printf '{"a": 3, "b": 4, "c": 2}\n{"a": 1, "b": -2, "c": 6}\n' >"$tmp/in.jsonl"
for url in "http://127.0.0.1:$port/v2/models/lin" "http://127.0.0.1:$port/v1/models/lin:predict#in=x:3&out=y:1"; do
    "$EXPLAINQ" explain --spec "$tmp/spec.json" --model "$url" --instances "$tmp/in.jsonl" >"$tmp/out.jsonl"
    # linear: Shapley from the zero baseline is w x exactly; F(0) = 1
    sed -n 1p "$tmp/out.jsonl" | grep -q '"baselineOutputValue":1,"instanceOutputValue":4,"featureAttributions":{"a":6,"b":-4,"c":1}'
    sed -n 2p "$tmp/out.jsonl" | grep -q '"featureAttributions":{"a":2,"b":2,"c":3}'
done

# displayNameMappingKey: the class names come from the server's own predictions
cat >"$tmp/cls.json" <<'JSON'
{"parameters": {"sampledShapleyAttribution": {"pathCount": 3}},
 "metadata": {"inputs": {"a": {}, "b": {}, "c": {}},
              "outputs": {"scores": {"displayNameMappingKey": "classes"}}}}
JSON
printf '{"a": 3, "b": 4, "c": 2}\n{"a": 0, "b": 5, "c": 0}\n' >"$tmp/cls.jsonl"
"$EXPLAINQ" explain --spec "$tmp/cls.json" --instances "$tmp/cls.jsonl" \
    --model "http://127.0.0.1:$port/v1/models/cls:predict#in=x:3&out=scores:2" >"$tmp/out.jsonl"
sed -n 1p "$tmp/out.jsonl" | grep -q '"outputIndex":\[0\],"outputDisplayName":"pos"' || { cat "$tmp/out.jsonl"; exit 1; }
sed -n 2p "$tmp/out.jsonl" | grep -q '"outputIndex":\[1\],"outputDisplayName":"neg"' || { cat "$tmp/out.jsonl"; exit 1; }

# gradients are not available over HTTP: the error says what to use instead
sed 's/"sampledShapleyAttribution": {"pathCount": 3}/"integratedGradientsAttribution": {"stepCount": 3}/' \
    "$tmp/spec.json" >"$tmp/ig.json"
set +e
"$EXPLAINQ" explain --spec "$tmp/ig.json" --model "http://127.0.0.1:$port/v2/models/lin" \
    --instances "$tmp/in.jsonl" >"$tmp/out.jsonl" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" -eq 1 ]
grep -q 'no gradients: use sampledShapleyAttribution' "$tmp/err"

# a server that is gone, and a :predict URL without the tensor declaration
kill "$srv"; wait "$srv" 2>/dev/null || true
set +e
"$EXPLAINQ" explain --spec "$tmp/spec.json" --model "http://127.0.0.1:$port/v2/models/lin" \
    --instances "$tmp/in.jsonl" >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || exit 1
grep -q "Couldn't connect\|Connection refused\|connect" "$tmp/err" || { cat "$tmp/err"; exit 1; }
"$EXPLAINQ" explain --spec "$tmp/spec.json" --model "http://127.0.0.1:$port/v1/models/lin:predict" \
    --instances "$tmp/in.jsonl" >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || exit 1
grep -q "declare the tensors" "$tmp/err" || { cat "$tmp/err"; exit 1; }
set -e
echo "http: both protocols explain, errors are clear"
