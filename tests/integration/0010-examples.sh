#!/usr/bin/env bash
# 0010-examples: example-based explanations end to end on the real Redis and Kafka:
#   A. `index build` over 3,000 clustered examples; PRECISE == brute force (computed in Python),
#      FAST recall@10 >= 0.95, cosine (IMAGE) == brute-force cosine, crowdingCount honoured
#   B. `index build` through a runner on Kafka makes the same index (the same id); the worker
#      returns the neighbours `explain` does, and the same after a restart
#   C. bad input: unknown index id, dimension mismatch, empty file, malformed line, gs:// URI
set -euo pipefail
X="$EXPLAINQ"
T="e$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies" MODEL="emb$T"
D="$(mktemp -d)"
C="python3 tests/integration/examples_data.py"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT

$C gen "$D"
build() { "$X" index build --spec "$D/$1.json" --model "$D/model.json" --examples "$2" --redis "$REDIS_URL"; }
explain() { "$X" explain --spec "$D/$1.json" --model "$D/model.json" --instances "$D/queries.jsonl" \
    --redis "$REDIS_URL" "${@:2}"; }

# A. build and query in-process
for s in l2 fast cos; do
    build "$s" "$D/examples.jsonl" >"$D/$s.id" 2>"$D/$s.build"
    grep -Eqx '[0-9a-f]{64}' "$D/$s.id"
    grep -q '3000 examples embedded' "$D/$s.build" # the progress line
    explain "$s" >"$D/$s.out"
done
grep -q 'SQUARED_L2, PRECISE' "$D/l2.build" && grep -q 'SQUARED_L2, FAST' "$D/fast.build"
grep -q 'COSINE, PRECISE' "$D/cos.build"
$C check "$D" "$D/l2.out" l2 10
$C check "$D" "$D/fast.out" l2 10 --recall 0.95
$C check "$D" "$D/cos.out" cos 10
explain l2 --neighbor-count 7 --crowding-count 2 >"$D/crowd.out"
$C check "$D" "$D/crowd.out" l2 7 --crowding 2
"$X" index info "$(cat "$D/l2.id")" --redis "$REDIS_URL" | grep -q '"examples":3000,"dimension":6'
# without an id field the neighborId is the line number
head -100 "$D/examples.jsonl" | sed 's/"id": "ex-[0-9]*", //' >"$D/noid.jsonl"
build l2 "$D/noid.jsonl" >/dev/null 2>&1
explain l2 --neighbor-count 100 >"$D/noid.out"
python3 -c '
import json, sys
ids = {n["neighborId"] for n in json.loads(open(sys.argv[1]).readline())["neighbors"]}
assert ids == {str(i) for i in range(1, 101)}, sorted(ids)' "$D/noid.out"
build l2 "$D/examples.jsonl" >/dev/null 2>&1 # the spec's latest index again
echo "A: PRECISE and cosine equal brute force, FAST recall ok, crowding ok"

# B. the worker on Kafka gives the same neighbours, before and after a restart
"$X" topics create -b "$B" --partitions 2 "$JOBS" "$RES" "$DLQ" "explain.infer.$MODEL"
"$X" topics create -b "$B" --partitions 2 "$REP"
"$X" runner --model "$D/model.json" --name "$MODEL" -b "$B" >"$D/runner.log" 2>&1 &
pids+=($!)
start_worker() {
    "$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
        -X topic.replies="$REP" -X group.id="explainq_test_${T}" -X redis.url="$REDIS_URL" \
        >>"$D/worker.log" 2>&1 &
    worker=$!
    pids+=($worker)
}
# the same index built through the runner over Kafka: same embeddings, same bytes, same id
"$X" index build --spec "$D/l2.json" --model "$MODEL" -b "$B" --reply-topic "$REP" \
    --examples "$D/examples.jsonl" --redis "$REDIS_URL" --batch-rows 500 >"$D/kafka.id"
cmp "$D/kafka.id" "$D/l2.id"
start_worker
for round in 1 2; do
    "$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$D/l2.json" --job-size 10 \
        --instances "$D/queries.jsonl" --prefix "r$round-$T" --jobs-out "$D/jobs$round"
    "$X" collect -b "$B" --topic "$RES" --jobs "$D/jobs$round" --out "$D/kafka$round.out" \
        --timeout 120 2>"$D/collect.err" || { cat "$D/collect.err" "$D/worker.log"; exit 1; }
    $C check "$D" "$D/kafka$round.out" l2 10
    python3 - "$D/l2.out" "$D/kafka$round.out" <<'PY'
import json, sys
local = [json.loads(l)["neighbors"] for l in open(sys.argv[1])]
remote = [json.loads(l)["neighbors"] for l in open(sys.argv[2])]  # collect: one line an instance
assert local == remote, "the worker's neighbours differ from explain's"
PY
    kill -TERM "$worker" && wait "$worker" || true
    start_worker # a new process: it loads the index from Redis again
done
echo "B: Kafka results equal explain's, before and after a worker restart"

# C. bad input: each error names what is wrong
fails() { # $1: pattern the error must hold; the rest: the command
    local pat="$1"
    shift
    if "$@" >"$D/bad.out" 2>"$D/bad.err"; then echo "should have failed: $*"; exit 1; fi
    grep -q -- "$pat" "$D/bad.err" || { echo "want '$pat':"; cat "$D/bad.err"; exit 1; }
}
fails "no example index 0000" explain l2 --index "$(printf '0%.0s' $(seq 64))"
python3 - "$D" <<'PY'
import json, sys
m = json.load(open(sys.argv[1] + "/model.json"))
m["output"]["shape"] = [5]
m["layers"][0]["weights"] = m["layers"][0]["weights"][:5]
m["layers"][0]["bias"] = m["layers"][0]["bias"][:5]
json.dump(m, open(sys.argv[1] + "/model5.json", "w"))
PY
fails "latentSpaceSource.*dimension 6" "$X" explain --spec "$D/l2.json" --model "$D/model5.json" \
    --instances "$D/queries.jsonl" --redis "$REDIS_URL"
: >"$D/empty.jsonl"
fails "no examples" build l2 "$D/empty.jsonl"
{ head -2 "$D/examples.jsonl"; echo '{"id": "x", "x": [1, 2'; } >"$D/bad.jsonl"
fails "line 3: not JSON" build l2 "$D/bad.jsonl"
{ head -4 "$D/examples.jsonl"; echo '{"id": "x", "x": [1, 2]}'; } >"$D/short.jsonl"
fails "line 5: x" build l2 "$D/short.jsonl"
fails "not supported here; give a local JSONL file or file:// URI" build l2 "gs://bucket/ex.jsonl"
python3 - "$D" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/l2.json"))
s["parameters"]["examples"]["exampleGcsSource"] = {"gcsSource": {"uris": ["gs://b/ex.jsonl"]}}
json.dump(s, open(sys.argv[1] + "/gcs.json", "w"))
s["parameters"]["examples"]["exampleGcsSource"] = {"gcsSource": {"uris": ["file://" + sys.argv[1] + "/noid.jsonl"]}}
json.dump(s, open(sys.argv[1] + "/file.json", "w"))
PY
fails "uris\[0\]: gs://b/ex.jsonl is not supported here" "$X" index build --spec "$D/gcs.json" \
    --model "$D/model.json" --redis "$REDIS_URL"
"$X" index build --spec "$D/file.json" --model "$D/model.json" --redis "$REDIS_URL" >/dev/null 2>&1
# an unknown index over Kafka: an error result naming indexId, not a lost job
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$D/l2.json" --instances "$D/queries.jsonl" \
    --index "$(printf 'f%.0s' $(seq 64))" --job-size 100 --prefix "bad-$T" --jobs-out "$D/jobs3"
"$X" collect -b "$B" --topic "$RES" --jobs "$D/jobs3" --out "$D/kafka3.out" --timeout 60 2>/dev/null || true
grep -q '"field":"index".*no example index ffff' "$D/kafka3.out" || { cat "$D/kafka3.out"; exit 1; }
echo "C: bad input gets clear errors"
