#!/usr/bin/env bash
# 0154-cluster: a 3-broker KRaft cluster on loopback (deploy/local/kafka-cluster-up.sh: every
# topic, the offsets and the transaction logs with replication factor 3, min.insync.replicas 2).
# Two workers and a runner explain 2000 instances in 200 jobs; mid-run a broker is killed with
# SIGKILL (half the jobs are submitted while it is down), and started again 4 s later. Every job has exactly one committed result
# (collect counts duplicates; test_kafkatool counts results per key) and they equal
# explainq explain's. The workers' metrics count the aborted transactions, if any.
set -euo pipefail
X="$EXPLAINQ"
T="cl$$"
SPEC=tests/data/specs/mlp20_shapley.json
tmp="$(mktemp -d)"
declare -A pid=()
CDIR=""
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -z "$CDIR" ] || deploy/local/kafka-cluster-down.sh "$CDIR" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
out="$(deploy/local/kafka-cluster-up.sh)"; eval "$out"; CDIR="$KAFKA_CLUSTER_DIR"
B="$KAFKA_BOOTSTRAP"
echo "cluster: $B"
JOBS="jobs-$T" RES="results-$T" DLQ="dlq-$T" REP="replies-$T" MODEL="m$T"
"$X" topics create -b "$B" --partitions 4 --replication-factor 3 --config min.insync.replicas=2 \
    "$JOBS" "$RES" "$DLQ" "$REP" "explain.infer.$MODEL"
FAST=(-X kafka.consumer.session.timeout.ms=6000 -X kafka.consumer.heartbeat.interval.ms=500)
"$X" runner --model tests/data/onnx/mlp20.onnx --name "$MODEL" -b "$B" "${FAST[@]}" \
    2>"$tmp/runner.log" &
pid[runner]=$!
start_worker() {
    "$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
        -X topic.replies="$REP" -X group.id="g-$T" -X redis.url="$REDIS_URL" -X worker.id="$1-$T" \
        -X request.timeout.ms=4000 -X kafka.producer.transaction.timeout.ms=20000 \
        -X commit.interval.ms=100 \
        -X metrics.port="$2" -X metrics.host=127.0.0.1 "${FAST[@]}" 2>"$tmp/$1.log" &
    pid[$1]=$!
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1="$(free_port)" P2="$(free_port)"
start_worker w1 "$P1"
start_worker w2 "$P2"
for i in $(seq 1 10); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in1.jsonl"
cp "$tmp/in1.jsonl" "$tmp/in2.jsonl"
cat "$tmp/in1.jsonl" "$tmp/in2.jsonl" >"$tmp/in.jsonl"
submit() { # $1: instances, $2: prefix
    "$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$1" \
        --job-size 10 --seed 11 --prefix "$2" --jobs-out "$tmp/$2.jobs"
}
submit "$tmp/in1.jsonl" "a$T"
# mid-run: once 5 jobs are done, SIGKILL broker 2; 100 more jobs go in while it is down; it
# comes back 4 s later, while they are being explained
for _ in $(seq 1 600); do
    "$X" status --redis "$REDIS_URL" "$(sed -n 5p "$tmp/a$T.jobs")" 2>/dev/null | grep -qx state=done && break
    sleep 0.05
done
"$CDIR/node.sh" kill 2
echo "broker 2 killed"
submit "$tmp/in2.jsonl" "b$T"
sleep 4
"$CDIR/node.sh" start 2
echo "broker 2 started again"
cat "$tmp/a$T.jobs" "$tmp/b$T.jobs" >"$tmp/jobs"
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/jobs" --out "$tmp/out" --timeout 240 \
    2>"$tmp/collect.err" || { cat "$tmp/collect.err"; tail -30 "$tmp"/w*.log; exit 1; }
cat "$tmp/collect.err"
grep -q "200 of 200 jobs, [0-9]* failed, 0 duplicate results" "$tmp/collect.err"
# every key on the results topic once (read_committed), whatever the workers redid
KAFKA_BOOTSTRAP="$B" "$BUILD/test_kafkatool" count "$RES" 5 >"$tmp/count"
[ "$(wc -l <"$tmp/count")" -eq 200 ]
[ "$(cut -d' ' -f1 "$tmp/count" | sort | uniq -d | wc -l)" -eq 0 ]
# the explanations are explainq explain's, bit for bit, job by job; a job answered with an
# error (a transaction whose messages the brokers refused while one was down is redone with
# an error result: see the worker's quarantine) is printed, and may be at most a few
split -l 10 -d -a 4 "$tmp/in.jsonl" "$tmp/chunk_"
for f in "$tmp"/chunk_*; do
    "$X" explain --spec "$SPEC" --model tests/data/onnx/mlp20.onnx --instances "$f" --seed 11
done >"$tmp/ref"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
out = open(f"{tmp}/out").read().splitlines()
ref = open(f"{tmp}/ref").read().splitlines()
i = errors = 0
for j in range(200):
    if '"error"' in out[i]:
        print("error result:", out[i])
        errors += 1
        i += 1
        continue
    assert out[i:i + 10] == ref[10 * j:10 * j + 10], f"job {j} differs from explainq explain"
    i += 10
assert i == len(out), (i, len(out))
assert errors <= 5, f"{errors} jobs failed"
print(f"{200 - errors} jobs equal explainq explain's; {errors} error results")
PY
for p in "$P1" "$P2"; do
    curl -sf "http://127.0.0.1:$p/metrics" | grep -E '^explainq_transaction_(commits|aborts)_total'
done
kill -TERM "${pid[w1]}" "${pid[w2]}" "${pid[runner]}"
wait "${pid[w1]}"; wait "${pid[w2]}"
echo "cluster: broker SIGKILLed and restarted mid-run; 200 jobs, each exactly one result, all correct"
