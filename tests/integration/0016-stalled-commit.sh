#!/usr/bin/env bash
# 0016-stalled-commit: two ways a worker once fell silent after a broker outage, each forced:
#   A. rd_kafka_send_offsets_to_transaction() never returns (librdkafka's issue 5456). A worker
#      made to stall in its first call (EXPLAINQ_TEST_STALL_SEND_OFFSETS) gives that producer up
#      after its deadline, starts a new one and still answers every job exactly once -- checked
#      without Redis, so only the transactions keep duplicates out -- equal to explainq explain.
#   B. partitions paused by back-pressure are lost (the worker stopped past its session
#      timeout) and given back: librdkafka keeps them paused, the worker must resume them.
set -euo pipefail
X="$EXPLAINQ"
T="s$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies"
SPEC=tests/data/specs/mlp20_shapley.json
tmp="$(mktemp -d)"
wpid="" rpid=""
cleanup() {
    for p in $wpid $rpid; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; grep -v 'Connect to ipv4' "$tmp/w.log" | tail -n 30; exit 1; }

"$X" topics create -b "$B" --partitions 4 "$JOBS" "$RES" "$DLQ"
"$X" topics create -b "$B" --partitions 4 "$REP"
EXPLAINQ_TEST_STALL_SEND_OFFSETS=1 "$X" worker -b "$B" -X topic.jobs="$JOBS" \
    -X topic.results="$RES" -X topic.dlq="$DLQ" -X topic.replies="$REP" \
    -X group.id="explainq_test_${T}" -X worker.id="w-$T" -X redis.url= -X commit.timeout.ms=1000 -X commit.jobs=5 \
    -X models="mlp$T=tests/data/onnx/mlp20.onnx" >"$tmp/w.log" 2>&1 &
wpid=$!

for i in 1 2 3 4; do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "mlp$T" --spec "$SPEC" --instances "$tmp/in.jsonl" \
    --job-size 10 --seed 5 --prefix "S$T" --jobs-out "$tmp/s.jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/s.jobs" --out "$tmp/s.out" --timeout 120 \
    2>"$tmp/collect.err" || fail "collect: $(cat "$tmp/collect.err")"
grep -q "40 of 40 jobs, 0 failed, 0 duplicate results" "$tmp/collect.err" ||
    fail "$(cat "$tmp/collect.err")"
grep -q "librdkafka has not returned" "$tmp/w.log" || fail "the stall was not seen"
grep -q "transactional producer restarted" "$tmp/w.log" || fail "no new producer"
split -l 10 -d -a 3 "$tmp/in.jsonl" "$tmp/chunk_"
for f in "$tmp"/chunk_*; do
    "$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$f" --seed 5
done >"$tmp/s.ref"
cmp "$tmp/s.ref" "$tmp/s.out" || fail "results differ from explain"
sleep 3 # the stalled call wakes (2 s past its deadline) on a fenced producer and ends it
kill -0 "$wpid" || fail "the worker died"
kill -TERM "$wpid"
rc=0
wait "$wpid" || rc=$?
wpid=""
[ "$rc" -eq 0 ] || fail "the worker exited $rc"
echo "A: the stalled producer given up after its deadline, 40 jobs answered exactly once"

# B. one job's 10 instances fill the intake (max.queued.instances=10): the job partitions pause;
# the runner is stopped, so nothing finishes until the worker has lost and regained them
JOBS="${JOBS}_b" RES="${RES}_b" # A's jobs are not for this worker
"$X" topics create -b "$B" --partitions 4 "$JOBS" "$RES" "explain.infer.m$T"
"$X" runner --model tests/data/onnx/mlp20.onnx --name "m$T" -b "$B" >"$tmp/r.log" 2>&1 &
rpid=$!
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="explainq_test_${T}_b" -X worker.id="wb-$T" \
    -X redis.url= -X max.queued.instances=10 -X kafka.consumer.session.timeout.ms=6000 \
    >"$tmp/w.log" 2>&1 &
wpid=$!
for _ in $(seq 1 100); do grep -q "assigned partitions=4" "$tmp/w.log" && break; sleep 0.1; done
kill -STOP "$rpid"
head -n 80 tests/data/instances/mlp20.jsonl >"$tmp/in80.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "m$T" --spec "$SPEC" --instances "$tmp/in80.jsonl" \
    --job-size 10 --seed 6 --prefix "P$T" --jobs-out "$tmp/p.jobs"
sleep 3           # the worker takes one job and pauses
kill -STOP "$wpid" # past the session timeout: its partitions go
sleep 10
kill -CONT "$wpid"
for _ in $(seq 1 200); do
    [ "$(grep -c "assigned partitions=4" "$tmp/w.log")" -ge 2 ] && break
    sleep 0.1
done
[ "$(grep -c "assigned partitions=4" "$tmp/w.log")" -ge 2 ] || fail "B: the partitions did not come back"
kill -CONT "$rpid"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/p.jobs" --out "$tmp/p.out" --timeout 90 \
    2>"$tmp/collect.err" || fail "B: collect: $(cat "$tmp/collect.err")"
grep -q "8 of 8 jobs, 0 failed, 0 duplicate results" "$tmp/collect.err" ||
    fail "B: $(cat "$tmp/collect.err")"
split -l 10 -d -a 3 "$tmp/in80.jsonl" "$tmp/pchunk_"
for f in "$tmp"/pchunk_*; do
    "$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$f" --seed 6
done >"$tmp/p.ref"
cmp "$tmp/p.ref" "$tmp/p.out" || fail "B: results differ from explain"
echo "B: paused partitions lost and regained are resumed: 8 jobs answered exactly once"
