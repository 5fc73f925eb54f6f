#!/usr/bin/env bash
# 0140-gateway: `explainq gateway` serves Vertex AI's REST prediction API over real workers:
#   A. the real google-cloud-aiplatform SDK (REST, anonymous credentials, loopback) gets
#      explanations equal to `explainq explain --seed` bit for bit, and BadRequest for a bad one
#   B. Google's documented curl call works unchanged but for the host; :predict; errors
#      (404 NOT_FOUND, 400 INVALID_ARGUMENT, 503 UNAVAILABLE with no worker) in Google's envelope
#   C. 40 concurrent requests each get their own answer; SIGTERM answers the ones in flight
#   E. with authTokensFile, the SDK holding a listed token is served; a wrong or missing
#      bearer token gets 401 UNAUTHENTICATED; a token file listing none is refused
set -euo pipefail
X="$EXPLAINQ"
T="g$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" GWRES="explainq_test_${T}_gw"
REP="explainq_test_${T}_replies" MODEL="mlp$T" DLQ="explainq_test_${T}_dlq"
SPEC=tests/data/specs/mlp20_shapley.json
PY=.venv-vertex/bin/python
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
[ -x "$PY" ] || { echo "no .venv-vertex: run make deps"; exit 1; }

"$X" topics create -b "$B" --partitions 4 "$JOBS" "$RES" "$DLQ" "explain.infer.$MODEL"
"$X" topics create -b "$B" --partitions 2 "$REP"
"$X" runner --model tests/data/onnx/mlp20.onnx --name "$MODEL" -b "$B" >"$tmp/runner.log" 2>&1 &
pid[runner]=$!
start_worker() {
    "$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
        -X topic.replies="$REP" -X group.id="explainq_test_${T}_workers" -X redis.url="$REDIS_URL" \
        -X commit.interval.ms=20 >>"$tmp/worker.log" 2>&1 &
    pid[worker]=$!
}
start_worker
cat >"$tmp/gw.json" <<JSON
{"listen": "127.0.0.1:0", "jobsTopic": "$JOBS", "resultTopic": "$GWRES", "redis": "$REDIS_URL",
 "repliesTopic": "$REP",
 "timeoutMs": 20000,
 "endpoints": [{"endpoint": "123", "deployedModelId": "456", "model": "$MODEL",
                "spec": "$PWD/$SPEC", "seed": 0}]}
JSON
start_gateway() {
    "$X" gateway -c "$tmp/gw.json" -b "$B" -X topic.metadata.refresh.interval.ms=1000 \
        >"$tmp/gw.out" 2>>"$tmp/gw.log" &
    pid[gw]=$!
    for _ in $(seq 1 200); do
        grep -q "listening on" "$tmp/gw.out" 2>/dev/null && break
        sleep 0.1
    done
    PORT="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/gw.out")"
    [ -n "$PORT" ] || { cat "$tmp/gw.log"; exit 1; }
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null
    URL="http://127.0.0.1:$PORT/v1/projects/p/locations/us-central1/endpoints/123"
}
start_gateway

# A. the SDK
head -n 10 tests/data/instances/mlp20.jsonl >"$tmp/in.jsonl"
"$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$tmp/in.jsonl" \
    --seed 0 >"$tmp/ref.jsonl"
"$PY" tests/integration/gateway_sdk.py "$PORT" "$tmp/in.jsonl" "$tmp/ref.jsonl"

# B. Google's curl call (docs: "Get online explanations", REST), unchanged but the host
{ printf '{"instances": ['; head -n 2 tests/data/instances/mlp20.jsonl | paste -sd, -; printf ']}'; } \
    >"$tmp/request.json"
ACCESS_TOKEN=anonymous
curl -sf -X POST \
    -H "Authorization: Bearer $ACCESS_TOKEN" \
    -H "Content-Type: application/json; charset=utf-8" \
    -d @"$tmp/request.json" \
    "http://127.0.0.1:$PORT/v1/projects/p/locations/us-central1/endpoints/123:explain" >"$tmp/curl.json"
head -n 2 "$tmp/ref.jsonl" >"$tmp/ref2.jsonl"
"$PY" - "$tmp/curl.json" "$tmp/ref2.jsonl" <<'PYEOF'
import json, sys
got = json.load(open(sys.argv[1]))
ref = [json.loads(l) for l in open(sys.argv[2])]
assert got["explanations"] == ref, "curl explanations differ"
assert got["deployedModelId"] == "456" and len(got["predictions"]) == 2
assert all(len(p) == 2 and abs(sum(p) - 1) < 1e-5 for p in got["predictions"])  # softmax rows
PYEOF
# v1beta1 and :predict
curl -sf -X POST -d @"$tmp/request.json" \
    "http://127.0.0.1:$PORT/v1beta1/projects/p/locations/us-central1/endpoints/123:predict" |
    grep -q '"predictions":\[\['
code() { curl -s -o "$tmp/err.json" -w '%{http_code}' "$@"; }
[ "$(code -X POST -d @"$tmp/request.json" "${URL%123}999:explain")" = 404 ]
grep -q '"status":"NOT_FOUND"' "$tmp/err.json"
[ "$(code -X POST -d '{"instances": [{"f00": "x"}]}' "$URL:explain")" = 400 ]
grep -q '"status":"INVALID_ARGUMENT"' "$tmp/err.json"
[ "$(code -X POST -d '{"instances": []}' "$URL:explain")" = 400 ]
[ "$(code -X POST -d '{"instances": [1], "bogus": 1}' "$URL:explain")" = 400 ]
grep -q 'Unknown name' "$tmp/err.json"
[ "$(code -X POST -d '{"instances": [' "$URL:explain")" = 400 ]
head -c 11000000 /dev/zero | tr '\0' ' ' >"$tmp/big.json"
[ "$(code -X POST --data-binary @"$tmp/big.json" "$URL:explain")" = 413 ]
# explanationSpecOverride: a different pathCount gives a different, still exact, answer
"$PY" - "$URL" "$tmp/request.json" <<'PYEOF'
import json, sys, urllib.request
url, body = sys.argv[1], json.load(open(sys.argv[2]))
body["explanationSpecOverride"] = {"parameters": {"sampledShapleyAttribution": {"pathCount": 3}}}
req = urllib.request.Request(url + ":explain", json.dumps(body).encode(), method="POST")
got = json.load(urllib.request.urlopen(req))
a = got["explanations"][0]["attributions"][0]
s = sum(a["featureAttributions"].values())
assert abs(s - (a["instanceOutputValue"] - a["baselineOutputValue"])) < 1e-5
# a baseline override: instance 0 as every input's baseline gives zero attributions
inst = body["instances"][0]
body["explanationSpecOverride"] = {"metadata": {"inputs": {
    k: {"inputBaselines": [v]} for k, v in inst.items()}}}
req = urllib.request.Request(url + ":explain", json.dumps(body).encode(), method="POST")
a0 = json.load(urllib.request.urlopen(req))["explanations"][0]["attributions"][0]
assert a0["baselineOutputValue"] == a0["instanceOutputValue"], a0
assert all(v == 0 for v in a0["featureAttributions"].values()), a0
# an unknown deployedModelId
b2 = {"instances": body["instances"], "deployedModelId": "999"}
req = urllib.request.Request(url + ":explain", json.dumps(b2).encode(), method="POST")
try:
    urllib.request.urlopen(req)
    raise SystemExit("an unknown deployedModelId was served")
except urllib.error.HTTPError as e:
    assert e.code == 404 and json.load(e)["error"]["status"] == "NOT_FOUND"
body["explanationSpecOverride"] = {"parameters": {"integratedGradientsAttribution": {"stepCount": 5}}}
req = urllib.request.Request(url + ":explain", json.dumps(body).encode(), method="POST")
try:
    urllib.request.urlopen(req)
    raise SystemExit("changing the method was accepted")
except urllib.error.HTTPError as e:
    err = json.load(e)["error"]
    assert e.code == 400 and "cannot be changed" in err["message"], err
PYEOF
echo "B: curl as Google documents it, v1beta1 :predict, overrides, 404/400/413 envelopes"

# C. concurrency: 40 requests at once, each its own instance, each answered with its own
seq 0 39 | xargs -P 40 -I{} sh -c \
    'sed -n "$(({}%100+1))p" tests/data/instances/mlp20.jsonl | sed "s/^/{\"instances\": [/; s/$/]}/" |
     curl -sf -X POST -d @- "'"$URL"':explain" >"'"$tmp"'/c{}.json"'
for i in $(seq 0 39); do
    sed -n "$((i % 100 + 1))p" tests/data/instances/mlp20.jsonl >"$tmp/one.jsonl"
    "$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$tmp/one.jsonl" \
        --seed 0 >"$tmp/one.ref"
    "$PY" -c 'import json,sys; g=json.load(open(sys.argv[1]))["explanations"]; r=[json.loads(l) for l in open(sys.argv[2])]; assert g==r, sys.argv[1]' \
        "$tmp/c$i.json" "$tmp/one.ref"
done
echo "C: 40 concurrent requests, each its own exact answer"

# E. bearer tokens
kill "${pid[gw]}"; wait "${pid[gw]}" 2>/dev/null || true
printf '# tokens of the gateway test\n  t0k3n-one-%s  \nt0k3n-two-%s # the second\n' "$T" "$T" \
    >"$tmp/tokens.txt"
cp "$tmp/gw.json" "$tmp/gw-open.json"
sed -i 's/"timeoutMs": 20000,/"timeoutMs": 20000, "authTokensFile": "tokens.txt",/' "$tmp/gw.json"
start_gateway
"$PY" tests/integration/gateway_sdk.py "$PORT" "$tmp/in.jsonl" "$tmp/ref.jsonl" \
    "t0k3n-two-$T" "t0k3n-one-${T}x"
[ "$(code -X POST -d @"$tmp/request.json" "$URL:explain")" = 401 ]
grep -q '"status":"UNAUTHENTICATED"' "$tmp/err.json"
[ "$(code -H "Authorization: Bearer t0k3n-one" -X POST -d @"$tmp/request.json" "$URL:explain")" = 401 ]
[ "$(code -H "Authorization: Bearer t0k3n-one-$T" "$URL")" = 200 ]
[ "$(code "http://127.0.0.1:$PORT/healthz")" = 200 ] # probes need no token
grep -q "bearer tokens required" "$tmp/gw.log"
kill "${pid[gw]}"; wait "${pid[gw]}" 2>/dev/null || true
echo "# none" >"$tmp/tokens.txt"
rc=0
"$X" gateway -c "$tmp/gw.json" -b "$B" >/dev/null 2>"$tmp/bad.log" || rc=$?
[ "$rc" -eq 2 ] && grep -q "authTokensFile.*lists no token" "$tmp/bad.log" || { cat "$tmp/bad.log"; exit 1; }
cp "$tmp/gw-open.json" "$tmp/gw.json"
start_gateway
echo "E: bearer tokens: the SDK with a listed token served, wrong or missing ones 401"

# D. no worker: 503 UNAVAILABLE once the deadline passes (a short one here)
kill "${pid[worker]}"; wait "${pid[worker]}" 2>/dev/null || true
kill "${pid[gw]}"; wait "${pid[gw]}" 2>/dev/null || true
sed -i 's/"timeoutMs": 20000/"timeoutMs": 3000/' "$tmp/gw.json"
start_gateway
[ "$(code -X POST -d @"$tmp/request.json" "$URL:explain")" = 503 ]
grep -q '"status":"UNAVAILABLE"' "$tmp/err.json"
grep -q 'no worker took job' "$tmp/err.json"
# SIGTERM while a request waits: it is answered (here its deadline), never dropped
curl -s -o "$tmp/term.json" -w '%{http_code}' -X POST -d @"$tmp/request.json" "$URL:explain" \
    >"$tmp/term.code" &
cpid=$!
sleep 1
kill -TERM "${pid[gw]}"
wait "$cpid"
[ "$(cat "$tmp/term.code")" = 503 ]
wait "${pid[gw]}"
echo "D: no worker gives 503 UNAVAILABLE; SIGTERM answers the request in flight before exiting"
