#!/usr/bin/env bash
# 0006-worker: the explain worker on the real broker and Redis, with real runners:
#   A. 1000 instances give 1000 results equal, bit for bit, to `explainq explain`
#   B. every kind of bad input gets its error result and a DLQ copy; good jobs around it succeed
#   C. a runner stopped and restarted mid-batch delays the batch but loses nothing
#   D. two workers, one killed with SIGKILL mid-batch: every job has exactly one committed result
#   E. Redis stopped mid-batch does not stop jobs with inline specs
set -euo pipefail
X="$EXPLAINQ"
T="w$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies" MODEL="mlp$T" GROUP="explainq_test_${T}_workers"
SPEC=tests/data/specs/mlp20_shapley.json
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -n "${R2_DIR:-}" ] && deploy/local/redis-down.sh "$R2_DIR" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

"$X" topics create -b "$B" --partitions 4 "$JOBS" "$RES" "$DLQ" "explain.infer.$MODEL" "explain.infer.xgb$T"
"$X" topics create -b "$B" --partitions 8 "$REP"

start_runner() {
    "$X" runner --model tests/data/onnx/mlp20.onnx --name "$MODEL" -b "$B" \
        -X kafka.consumer.session.timeout.ms=6000 -X kafka.consumer.heartbeat.interval.ms=500 \
        >>"$tmp/runner$1.log" 2>&1 &
    pid[runner$1]=$!
}
start_worker() { # $1: name, $2: redis url
    "$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
        -X topic.replies="$REP" -X group.id="$GROUP" -X redis.url="$2" -X worker.id="$1-$T" \
        -X max.instances.per.job=60 -X request.timeout.ms=4000 -X redis.wait.ms=1000 \
        -X kafka.consumer.session.timeout.ms=6000 -X kafka.consumer.heartbeat.interval.ms=500 \
        -X kafka.producer.transaction.timeout.ms=10000 >>"$tmp/$1.log" 2>&1 &
    pid[$1]=$!
}
collect() { # $1: jobs file, $2: out, $3: "failures" when some jobs fail (collect exits 1)
    local rc=0
    "$X" collect -b "$B" --topic "$RES" --jobs "$1" --out "$2" --timeout 150 2>"$tmp/collect.err" ||
        rc=$?
    if [ "$rc" != 0 ] && ! { [ "${3:-}" = failures ] && [ "$rc" = 1 ] &&
        grep -q 'explainq collect: \([0-9]*\) of \1 jobs' "$tmp/collect.err"; }; then
        cat "$tmp/collect.err"; tail -20 "$tmp"/*.log; return 1
    fi
    cat "$tmp/collect.err"
    grep -q ", 0 duplicate results" "$tmp/collect.err"
}
wait_done() { # $1: a job id: waits until a worker reports it done in Redis
    for _ in $(seq 1 300); do
        "$X" status --redis "$REDIS_URL" "$1" 2>/dev/null | grep -qx 'state=done' && return 0
        sleep 0.1
    done
    return 1
}
reference() { # $1: instances, $2: job size, $3: seed -> explain, job by job
    split -l "$2" -d -a 4 "$1" "$tmp/chunk_"
    for f in "$tmp"/chunk_*; do
        "$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$f" --seed "$3"
    done
    rm -f "$tmp"/chunk_*
}
for i in $(seq 1 10); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in1000.jsonl"

start_runner 1
start_worker w1 "$REDIS_URL"

# A. correctness
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/in1000.jsonl" \
    --job-size 50 --seed 7 --prefix "A$T" --jobs-out "$tmp/a.jobs"
collect "$tmp/a.jobs" "$tmp/a.out"
reference "$tmp/in1000.jsonl" 50 7 >"$tmp/a.ref"
[ "$(wc -l <"$tmp/a.out")" -eq 1000 ]
cmp "$tmp/a.ref" "$tmp/a.out"
# the one baseline's output went to Redis and served the later jobs (identical results above)
redis-cli -h "${REDIS_URL%:*}" -p "${REDIS_URL##*:}" --scan --pattern "explainq:baseline:$MODEL:*" |
    grep -c . | grep -qx 1
echo "A: 1000 results, identical to explainq explain; the baseline output shared through Redis"

# B. bad input: each gets an error result naming the field, and a DLQ copy
SPEC_ID="$("$X" spec id "$SPEC")"
head -n 3 "$tmp/in1000.jsonl" >"$tmp/good3.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/good3.jsonl" \
    --prefix "Bgood1$T" --jobs-out "$tmp/b.jobs"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec-id "$(printf '0%.0s' $(seq 1 64))" \
    --instances "$tmp/good3.jsonl" --prefix "Bnospec$T" >>"$tmp/b.jobs"
head -n 61 "$tmp/in1000.jsonl" >"$tmp/61.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/61.jsonl" \
    --job-size 61 --prefix "Bbig$T" >>"$tmp/b.jobs"
printf '%s\n{"f00": 1}\n' "$(head -n 1 "$tmp/in1000.jsonl")" >"$tmp/badinst.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/badinst.jsonl" \
    --prefix "Binst$T" >>"$tmp/b.jobs"
python3 tests/integration/mp.py >"$tmp/badspec.mp" <<JSON
{"id": "Bspec$T", "model": "$MODEL", "instances": [{"f00": 1}],
 "spec": {"parameters": {"sampledShapleyAttribution": {"pathCount": 0}}}}
JSON
echo "Bspec$T" >>"$tmp/b.jobs"
"$BUILD/test_kafkatool" produce "$JOBS" "Bspec$T" "$tmp/badspec.mp"
# a model error reply: an XGBoost booster has no gradients for Integrated Gradients
"$X" runner --model tests/data/models/xgb_stump.json --name "xgb$T" -b "$B" >"$tmp/xgb.log" 2>&1 &
pid[xgb]=$!
echo '{"parameters": {"integratedGradientsAttribution": {"stepCount": 2}}}' >"$tmp/ig.json"
echo '{"features": [1, 2, 3]}' >"$tmp/xgb.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "xgb$T" --spec "$tmp/ig.json" --instances "$tmp/xgb.jsonl" \
    --prefix "Bmodel$T" >>"$tmp/b.jobs"
printf '\xc1 not a job' >"$tmp/garbage"
"$BUILD/test_kafkatool" produce "$JOBS" "garbage" "$tmp/garbage"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/good3.jsonl" \
    --prefix "Bgood2$T" >>"$tmp/b.jobs"
collect "$tmp/b.jobs" "$tmp/b.out" failures
grep -c '"id":"Binst'"$T"'-000000","error"' "$tmp/b.out" | grep -qx 2  # one line per instance
grep -c '"attributions"' "$tmp/b.out" | grep -qx 6                    # the good jobs, 3 + 3
grep -q '"id":"Bmodel'"$T"'-000000","error":{"code":"model_error","field":"model","message":"model xgb'"$T"': xgboost models have no gradients' "$tmp/b.out"
grep -q '"id":"Bnospec'"$T"'-000000","error":{"code":"not_found","field":"specId"' "$tmp/b.out"
grep -q '"id":"Bbig'"$T"'-000000","error":{"code":"limit_exceeded","field":"instances"' "$tmp/b.out"
grep -q '"id":"Binst'"$T"'-000000","error":{"code":"invalid_argument","field":"instances\[1\].f01"' "$tmp/b.out"
grep -q '"id":"Bspec'"$T"'","error":{"code":"invalid_spec","field":"spec.parameters.sampledShapleyAttribution.pathCount"' "$tmp/b.out"
"$BUILD/test_kafkatool" dlq "$DLQ" 6 60 >"$tmp/dlq"
grep -q "dlq model_error model" "$tmp/dlq"
grep -q "dlq undecodable" "$tmp/dlq"
grep -q "dlq invalid_spec spec.parameters" "$tmp/dlq"
grep -q "dlq not_found specId" "$tmp/dlq"
kill -0 "${pid[w1]}"                                                  # still running
echo "B: bad jobs answered with errors and dead letters; good jobs explained"

# C. a runner stopped and restarted mid-batch
for i in 1 2; do cat "$tmp/in1000.jsonl"; done >"$tmp/in2000.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/in2000.jsonl" \
    --job-size 10 --seed 3 --prefix "C$T" --jobs-out "$tmp/c.jobs"
wait_done "$(sed -n 5p "$tmp/c.jobs" | cut -f1)"
kill -TERM "${pid[runner1]}"; wait "${pid[runner1]}" || true
sleep 3
start_runner 1
collect "$tmp/c.jobs" "$tmp/c.out"
[ "$(wc -l <"$tmp/c.out")" -eq 2000 ]
! grep -q '"error"' "$tmp/c.out"
echo "C: the runner restart delayed the batch; all 2000 instances explained"

# D. two workers; one killed with SIGKILL mid-batch
start_worker w2 "$REDIS_URL"
sleep 2
for i in 1 2 3; do cat "$tmp/in1000.jsonl"; done >"$tmp/in3000.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/in3000.jsonl" \
    --job-size 10 --seed 5 --prefix "D$T" --jobs-out "$tmp/d.jobs"
wait_done "$(sed -n 20p "$tmp/d.jobs" | cut -f1)"
kill -9 "${pid[w1]}"; unset 'pid[w1]'
collect "$tmp/d.jobs" "$tmp/d.out"          # every job, and no duplicate (checked in collect)
[ "$(wc -l <"$tmp/d.out")" -eq 3000 ]
reference "$tmp/in3000.jsonl" 10 5 >"$tmp/d.ref"
cmp "$tmp/d.ref" "$tmp/d.out"
echo "D: after SIGKILL of one worker, every job has exactly one result, all correct"

# E. Redis stopped mid-batch: inline-spec jobs go on (a Redis of this test's own)
out="$(deploy/local/redis-up.sh)"; eval "$out"; R2_DIR="$REDIS_HOME_DIR"; R2_URL="$REDIS_URL"
kill -TERM "${pid[w2]}"; wait "${pid[w2]}" || true; unset 'pid[w2]'
start_worker w3 "$R2_URL"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/in2000.jsonl" \
    --job-size 10 --seed 9 --prefix "E$T" --jobs-out "$tmp/e.jobs"
sleep 1
deploy/local/redis-down.sh "$R2_DIR"; R2_DIR=""
collect "$tmp/e.jobs" "$tmp/e.out"
[ "$(wc -l <"$tmp/e.out")" -eq 2000 ]
! grep -q '"error"' "$tmp/e.out"
echo "E: with Redis gone, inline-spec jobs were all explained"

kill -TERM "${pid[w3]}"
rc=0; wait "${pid[w3]}" || rc=$?
[ "$rc" -eq 0 ] || { echo "worker exited $rc"; tail -20 "$tmp/w3.log"; exit 1; }
unset 'pid[w3]'
grep -q "stopping done=" "$tmp/w3.log"
grep -Eq "baseline_hits=[1-9]" "$tmp/w3.log"        # rows answered from the shared cache
echo "worker: all parts passed"
