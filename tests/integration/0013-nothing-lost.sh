#!/usr/bin/env bash
# 0013-nothing-lost: every accepted job gets exactly one answer, counted by a read_committed reader:
#   A. a result over the broker's 1 MB message limit arrives whole (in parts), equal to explain
#   B. an outputTopic that cannot take the result: one error result on the default topic, one DLQ
#   C. the same job id three times: one result
#   D. a poison instance (the model overflows) fails alone, in its place; its batch-mates succeed
#   E. features not in sorted order: the same (closed-form) attributions in-process, by specId
#      (spec put) and inline on the worker
#   F. a waiting job does not hold back the jobs behind it; a worker killed after they were
#      answered ahead leaves every job answered exactly once (no Redis to remember ids)
#   G. a worker stopped (SIGSTOP) past its transaction timeout carries on; every job once
#   H. a bad job over 1 MB: an error result, and a dead letter cut to dlq.max.bytes
set -euo pipefail
X="$EXPLAINQ"
T="n$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies" GROUP="explainq_test_${T}_workers"
SMALL="explainq_test_${T}_small" SLOWJ="explainq_test_${T}_slowjobs" SLOWR="explainq_test_${T}_slowres"
SPEC=tests/data/specs/mlp20_shapley.json
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "== $f"; tail -n 15 "$f"; done; exit 1; }

"$BUILD/test_kafkatool" create "$JOBS" 2 max.message.bytes=3000000 # H: a job over 1 MB
"$X" topics create -b "$B" --partitions 2 "$RES" "$DLQ" "explain.infer.mlp$T" \
    "explain.infer.exp$T" "explain.infer.lin$T"
"$X" topics create -b "$B" --partitions 1 "$SLOWJ" "$SLOWR"
"$X" topics create -b "$B" --partitions 8 "$REP"
"$BUILD/test_kafkatool" create "$SMALL" 1 max.message.bytes=2000

start_runner() { # $1: name, $2: model file
    "$X" runner --model "$2" --name "$1" -b "$B" >>"$tmp/runner-$1.log" 2>&1 &
    pid[runner-$1]=$!
}
start_worker() { # $1: name, then -X options
    local name="$1"
    shift
    "$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
        -X topic.replies="$REP" -X group.id="$GROUP" -X redis.url="$REDIS_URL" \
        -X worker.id="$name-$T" -X request.timeout.ms=5000 "$@" >>"$tmp/$name.log" 2>&1 &
    pid[$name]=$!
}
stop_worker() {
    kill -TERM "${pid[$1]}"
    wait "${pid[$1]}" || fail "worker $1 exited $?"
    unset "pid[$1]"
}
# once KEY: the result topic holds exactly one answer for each key of file $1 ($2: topic)
exactly_once() {
    "$BUILD/test_kafkatool" count "${2:-$RES}" 3 >"$tmp/count"
    local want got
    cut -f1 "$1" >"$tmp/keys" # submit writes "<id>\t<instances>"
    want="$(sort -u "$tmp/keys" | wc -l)"
    got="$(awk '{print $1}' "$tmp/count" | sort | uniq -c | awk -v keys="$tmp/keys" '
        BEGIN { while ((getline k < keys) > 0) want[k] = 1 }
        ($2 in want) { n++; if ($1 != 1) bad++ } END { print n + 0, bad + 0 }')"
    [ "$got" = "$want 0" ] || fail "$1: wanted $want keys once each, got (keys, keys not once) $got"
}
job() { # writes a job's msgpack to $tmp/$1.mp from the JSON on stdin
    python3 tests/integration/mp.py >"$tmp/$1.mp"
}

start_runner "mlp$T" tests/data/onnx/mlp20.onnx
start_runner "exp$T" tests/data/models/exp3.json
start_runner "lin$T" tests/data/models/linear3.json
start_worker w1

# A. 2,500 instances: a result of several MB, over the broker's default 1 MB message limit
for i in $(seq 1 25); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in2500.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$SPEC" --instances "$tmp/in2500.jsonl" \
    --job-size 2500 --seed 11 --prefix "A$T" --jobs-out "$tmp/a.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/a.jobs" --out "$tmp/a.out" --timeout 120 \
    2>"$tmp/collect.err" || fail "collect A"
"$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$tmp/in2500.jsonl" \
    --seed 11 >"$tmp/a.ref"
cmp "$tmp/a.ref" "$tmp/a.out" || fail "A: the reassembled result differs from explain"
exactly_once "$tmp/a.jobs"
parts="$(awk -v k="$(cut -f1 "$tmp/a.jobs")" '$1 == k { sub("parts=", "", $3); print $3 }' "$tmp/count")"
[ "$parts" -ge 2 ] || fail "A: the result went out in $parts part(s): not over the limit"
echo "A: a result over the 1 MB limit arrived whole in $parts parts, equal to explain"

# B. outputTopic with a 2,000-byte message limit: the result cannot go there
head -n 5 tests/data/instances/mlp20.jsonl >"$tmp/five.jsonl"
python3 - "$tmp/five.jsonl" "$SPEC" "B$T" "mlp$T" "$SMALL" >"$tmp/b.json" <<'PY'
import json, sys
inst = [json.loads(l) for l in open(sys.argv[1])]
spec = json.load(open(sys.argv[2]))
print(json.dumps({"id": sys.argv[3], "model": sys.argv[4], "spec": spec, "instances": inst,
                  "outputTopic": sys.argv[5]}))
PY
job b <"$tmp/b.json"
"$BUILD/test_kafkatool" produce "$JOBS" "B$T" "$tmp/b.mp"
echo "B$T" >"$tmp/b.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/b.jobs" --out "$tmp/b.out" --timeout 60 \
    2>"$tmp/collect.err" || true
grep -q '"id":"B'"$T"'","error":{"code":"kafka_error","field":"outputTopic","message":"the result of' \
    "$tmp/b.out" || fail "B: no error result: $(cat "$tmp/b.out")"
exactly_once "$tmp/b.jobs"
"$BUILD/test_kafkatool" dlq "$DLQ" 1 30 >"$tmp/b.dlq" || fail "B: no dead letter"
grep -q "dlq kafka_error outputTopic key=B$T" "$tmp/b.dlq" || fail "B: $(cat "$tmp/b.dlq")"
[ "$(grep -c "key=B$T" "$tmp/b.dlq")" -eq 1 ] || fail "B: dead letters: $(cat "$tmp/b.dlq")"
echo "B: an unwritable outputTopic: one error result on $RES and one dead letter"

# C. one id, three messages (two at once, one after the first was answered): one result
printf '%s\n' "$(head -n 1 tests/data/instances/mlp20.jsonl)" >"$tmp/one.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$SPEC" --instances "$tmp/one.jsonl" \
    --prefix "C$T" --jobs-out "$tmp/c.jobs"
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$SPEC" --instances "$tmp/one.jsonl" \
    --prefix "C$T" --jobs-out /dev/null
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/c.jobs" --out "$tmp/c.out" --timeout 60 \
    2>"$tmp/collect.err" || fail "collect C"
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$SPEC" --instances "$tmp/one.jsonl" \
    --prefix "C$T" --jobs-out /dev/null
sleep 3
exactly_once "$tmp/c.jobs"
echo "C: three messages with one job id got one result"

# D. a poison instance between two good ones, in a batch shared with another job
printf '{"x":[0.1,0.2,0.3]}\n{"x":[100,1,1]}\n{"x":[0.5,0.2,0.3]}\n' >"$tmp/poison.jsonl"
printf '{"x":[0.3,0.1,0.2]}\n{"x":[0.2,0.2,0.2]}\n' >"$tmp/good.jsonl"
echo '{"parameters": {"sampledShapleyAttribution": {"pathCount": 4}}}' >"$tmp/sh.json"
"$X" submit -b "$B" --topic "$JOBS" --model "exp$T" --spec "$tmp/sh.json" \
    --instances "$tmp/poison.jsonl" --job-size 3 --seed 2 --prefix "Dp$T" --jobs-out "$tmp/d.jobs"
"$X" submit -b "$B" --topic "$JOBS" --model "exp$T" --spec "$tmp/sh.json" \
    --instances "$tmp/good.jsonl" --job-size 2 --seed 3 --prefix "Dg$T" --jobs-out "$tmp/dg.jobs"
cat "$tmp/dg.jobs" >>"$tmp/d.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/d.jobs" --out "$tmp/d.out" --timeout 60 \
    2>"$tmp/collect.err" || true
rc=0
"$X" explain --spec "$tmp/sh.json" --model tests/data/models/exp3.json --instances "$tmp/poison.jsonl" \
    --seed 2 >"$tmp/d.ref" 2>"$tmp/d.err" || rc=$?
[ "$rc" -eq 1 ] || fail "D: explain exited $rc with a poison instance"
"$X" explain --spec "$tmp/sh.json" --model tests/data/models/exp3.json --instances "$tmp/good.jsonl" \
    --seed 3 >>"$tmp/d.ref"
cmp "$tmp/d.ref" "$tmp/d.out" || fail "D: worker and explain differ: $(diff "$tmp/d.ref" "$tmp/d.out")"
sed -n 2p "$tmp/d.out" | grep -q '^{"error":{"code":"model_error","field":"instances\[1\]","message":"instance 1: the model.s result is not finite' ||
    fail "D: $(sed -n 2p "$tmp/d.out")"
[ "$(grep -c '"attributions"' "$tmp/d.out")" -eq 4 ] || fail "D: $(cat "$tmp/d.out")"
exactly_once "$tmp/d.jobs"
echo "D: the poison instance failed alone, in its place; 4 instances around it explained"

# E. features named z, a, m feed x = [z, a, m] of y = 2x0 - x1 + 0.5x2 + 1; exact Shapley
cat >"$tmp/lin.json" <<'JSON'
{"parameters": {"sampledShapleyAttribution": {"pathCount": 6}},
 "metadata": {"inputs": {"z": {"inputTensorName": "x"}, "a": {"inputTensorName": "x"},
                         "m": {"inputTensorName": "x"}},
              "outputs": {"y": {"outputTensorName": "y"}}}}
JSON
echo '{"z": 1, "a": 2, "m": 4}' >"$tmp/lin.jsonl"
want='"featureAttributions":{"z":2,"a":-2,"m":2}'
"$X" explain --spec "$tmp/lin.json" --model tests/data/models/linear3.json \
    --instances "$tmp/lin.jsonl" | grep -qF "$want" || fail "E: in-process"
"$X" spec validate "$tmp/lin.json" >"$tmp/lin.canon.json"
"$X" explain --spec "$tmp/lin.canon.json" --model tests/data/models/linear3.json \
    --instances "$tmp/lin.jsonl" | grep -qF "$want" || fail "E: in-process, canonical spec"
LIN_ID="$("$X" spec put "$tmp/lin.json" --redis "$REDIS_URL")"
[ "$LIN_ID" = "$("$X" spec id "$tmp/lin.canon.json")" ] || fail "E: the canonical form has another id"
"$X" submit -b "$B" --topic "$JOBS" --model "lin$T" --spec-id "$LIN_ID" --instances "$tmp/lin.jsonl" \
    --prefix "Eid$T" --jobs-out "$tmp/e.jobs"
"$X" submit -b "$B" --topic "$JOBS" --model "lin$T" --spec "$tmp/lin.json" --instances "$tmp/lin.jsonl" \
    --prefix "Ein$T" >>"$tmp/e.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/e.jobs" --out "$tmp/e.out" --timeout 60 \
    2>"$tmp/collect.err" || fail "collect E"
[ "$(grep -cF "$want" "$tmp/e.out")" -eq 2 ] || fail "E: $(cat "$tmp/e.out")"
echo "E: z, a, m attributed 2, -2, 2 in-process, by specId and inline on the worker"
# H. a bad job of 1.5 MB (its topic takes it; the DLQ keeps Kafka's default 1 MB limit)
python3 - "H$T" "mlp$T" >"$tmp/h.json" <<'PY'
import json, sys
inst = [{"f%02d" % k: 0.5 for k in range(20)} for _ in range(6000)]
print(json.dumps({"id": sys.argv[1], "model": sys.argv[2], "instances": inst,
                  "spec": {"parameters": {"sampledShapleyAttribution": {"pathCount": 0}}}}))
PY
job h <"$tmp/h.json"
hbytes="$(stat -c %s "$tmp/h.mp")"
[ "$hbytes" -gt 1100000 ] || fail "H: the job is only $hbytes bytes"
"$BUILD/test_kafkatool" produce "$JOBS" "H$T" "$tmp/h.mp"
echo "H$T" >"$tmp/h.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/h.jobs" --out "$tmp/h.out" --timeout 60 \
    2>"$tmp/collect.err" || true
grep -q '"id":"H'"$T"'","error":{"code":"invalid_spec"' "$tmp/h.out" || fail "H: $(head -c 300 "$tmp/h.out")"
"$BUILD/test_kafkatool" dlq "$DLQ" 2 30 >"$tmp/h.dlq" || fail "H: no dead letter"
grep -q "dlq invalid_spec .* key=H$T bytes=$hbytes value=900000 truncated=true" "$tmp/h.dlq" ||
    fail "H: $(cat "$tmp/h.dlq")"
echo "H: a $hbytes-byte bad job: an error result and a dead letter cut to 900000 bytes"
stop_worker w1

# F. a job whose model has no runner yet, ahead of 30 small jobs on one partition; without
#    Redis, so only the commit's record of the jobs answered ahead can keep them from being
#    answered twice after a SIGKILL
"$X" topics create -b "$B" --partitions 2 "explain.infer.slow$T"
start_slow_worker() { # $1: name
    "$X" worker -b "$B" -X topic.jobs="$SLOWJ" -X topic.results="$SLOWR" -X topic.dlq="$DLQ" \
        -X topic.replies="$REP" -X group.id="${GROUP}_slow" -X redis.url= \
        -X worker.id="$1-$T" -X commit.interval.ms=100 -X request.timeout.ms=60000 \
        >>"$tmp/$1.log" 2>&1 &
    pid[$1]=$!
}
start_slow_worker ws
"$X" submit -b "$B" --topic "$SLOWJ" --model "slow$T" --spec "$tmp/lin.json" \
    --instances "$tmp/lin.jsonl" --prefix "Fslow$T" --jobs-out "$tmp/f.jobs"
head -n 30 tests/data/instances/mlp20.jsonl >"$tmp/thirty.jsonl"
"$X" submit -b "$B" --topic "$SLOWJ" --model "mlp$T" --spec "$SPEC" --instances "$tmp/thirty.jsonl" \
    --job-size 1 --seed 6 --prefix "Ffast$T" --jobs-out "$tmp/ffast.jobs"
cat "$tmp/ffast.jobs" >>"$tmp/f.jobs"
"$X" collect -b "$B" --topic "$SLOWR" --jobs "$tmp/ffast.jobs" --out "$tmp/ffast.out" --timeout 60 \
    2>"$tmp/collect.err" || fail "F: the small jobs waited for the slow one"
sleep 1 # a commit or two more
kill -9 "${pid[ws]}"
unset 'pid[ws]'
start_slow_worker ws2
sleep 5
start_runner "slow$T" tests/data/models/linear3.json
"$X" collect -b "$B" --topic "$SLOWR" --jobs "$tmp/f.jobs" --out "$tmp/f.out" --timeout 120 \
    2>"$tmp/collect.err" || fail "collect F"
exactly_once "$tmp/f.jobs" "$SLOWR"
grep -qF "$want" "$tmp/f.out" || fail "F: the slow job's result: $(head -n 1 "$tmp/f.out")"
grep -q "answered before; skipped" "$tmp/ws2.log" || fail "F: no job was answered ahead"
kill -TERM "${pid[ws2]}"
wait "${pid[ws2]}" || fail "ws2 exited $?"
unset 'pid[ws2]'
echo "F: 30 jobs answered ahead of a waiting one; after SIGKILL every job exactly once"

# G. SIGSTOP for 25 s, past a 10 s transaction timeout, mid-batch; twice
start_worker wg -X kafka.producer.transaction.timeout.ms=10000 \
    -X kafka.consumer.session.timeout.ms=45000 -X kafka.consumer.max.poll.interval.ms=300000
for round in 1 2; do
    for i in 1 2 3; do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in300.jsonl"
    "$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$SPEC" --instances "$tmp/in300.jsonl" \
        --job-size 3 --seed 8 --prefix "G$round$T" --jobs-out "$tmp/g$round.jobs"
    sleep 0.5
    kill -STOP "${pid[wg]}"
    sleep 25
    kill -CONT "${pid[wg]}"
    "$X" collect -b "$B" --topic "$RES" --jobs "$tmp/g$round.jobs" --out "$tmp/g.out" --timeout 120 \
        2>"$tmp/collect.err" || fail "collect G$round"
    [ "$(wc -l <"$tmp/g.out")" -eq 300 ] || fail "G$round: $(wc -l <"$tmp/g.out") results"
    exactly_once "$tmp/g$round.jobs"
    kill -0 "${pid[wg]}" || fail "G$round: the worker died"
done
stop_worker wg
echo "G: stopped past its transaction timeout twice, the worker carried on; every job once"
echo "nothing-lost: all parts passed"
