#!/usr/bin/env bash
# 0152-config-sasl: one configuration for every command, against a broker that requires
# SASL/PLAIN (deploy/local/kafka-up.sh with KAFKA_SASL=1) and a Redis that requires a password:
#   A. the same -X kafka.security.protocol=SASL_PLAINTEXT + SASL options, or the same
#      EXPLAINQ_KAFKA_* variables, or the same -c FILE, work for topics, runner, worker,
#      submit, collect and status; every job gets its one result
#   B. redis.password reaches Redis (the worker's progress; status JOB), a wrong one is refused
#   D. the broker stopped: the worker's /readyz turns 503 "brokers unreachable"
#   C. the bare librdkafka spelling is refused by every command, naming kafka.<prop>;
#      --dump-config masks the secrets everywhere; a worker.id or job-id prefix too long is
#      refused
set -euo pipefail
X="$EXPLAINQ"
T="cf$$"
tmp="$(mktemp -d)"
declare -A pid=()
KDIR="" RDIR=""
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [ -z "$KDIR" ] || deploy/local/kafka-down.sh "$KDIR" >/dev/null 2>&1
    [ -z "$RDIR" ] || deploy/local/redis-down.sh "$RDIR" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

# C first: configuration errors need no broker
for cmd in worker runner submit collect status topics index; do
    "$X" $cmd -X security.protocol=SASL_PLAINTEXT --dump-config >"$tmp/o" 2>"$tmp/e" && exit 1
    grep -q "security.protocol: unknown option; a librdkafka property is set as kafka.security.protocol" "$tmp/e" ||
        { echo "$cmd:"; cat "$tmp/e"; exit 1; }
    "$X" $cmd -X group.ib=g --dump-config >/dev/null 2>"$tmp/e" && exit 1
    grep -q "group.ib: unknown option; did you mean group.id?" "$tmp/e"
    EXPLAINQ_KAFKA_SASL_PASSWORD=hunter2 "$X" $cmd -X redis.password=s3cret -X kafka.sasl.jaas.config=x \
        --dump-config >"$tmp/dump"
    ! grep -q 'hunter2\|s3cret\|jaas.config=x' "$tmp/dump"
    grep -qx 'kafka.sasl.password=\*\*\*\*' "$tmp/dump"
    grep -q '^redis.password=\*\*\*\*  # -X' "$tmp/dump"
    grep -q '^bootstrap.servers=127.0.0.1:9092  # default' "$tmp/dump"
done
# one file for every command: each key the worker knows, the others accept (and ignore), and
# each key the others know, the worker knows
"$X" worker --dump-config | sed -n 's/^\([a-z.]*=.*\)  # .*/\1/p' >"$tmp/worker.kv"
cut -d= -f1 "$tmp/worker.kv" >"$tmp/worker.keys"
"$X" status --dump-config | sed -n 's/^\([a-z.]*\)=.*  # .*/\1/p' >"$tmp/cli.keys"
[ "$(wc -l <"$tmp/worker.keys")" -gt 40 ]
while read -r kv; do # each with the worker's default value
    "$X" status -X "$kv" --dump-config >/dev/null 2>"$tmp/e" || { echo "status refuses $kv"; exit 1; }
done <"$tmp/worker.kv"
while read -r k; do grep -qx "$k" "$tmp/worker.keys" || { echo "the worker lacks $k"; exit 1; }; done <"$tmp/cli.keys"
"$X" worker -X worker.id="$(printf 'w%.0s' $(seq 1 65))" 2>"$tmp/e" && exit 1
grep -q "worker.id: 65 characters; at most 64" "$tmp/e"
"$X" submit --model m --spec x --instances y --prefix "$(printf 'p%.0s' $(seq 1 100))" 2>"$tmp/e" && exit 1
grep -q -- "--prefix: 100 characters; at most 95" "$tmp/e"
echo "C: bare librdkafka names refused by every command; secrets masked in every dump"

out="$(KAFKA_SASL=1 deploy/local/kafka-up.sh)"; eval "$out"; KDIR="$KAFKA_HOME_DIR"
out="$(REDIS_PASSWORD="r-$T" deploy/local/redis-up.sh)"; eval "$out"; RDIR="$REDIS_HOME_DIR"
B="$KAFKA_BOOTSTRAP"
SASL=(-X kafka.security.protocol=SASL_PLAINTEXT -X kafka.sasl.mechanism=PLAIN
      -X kafka.sasl.username="$KAFKA_SASL_USER" -X kafka.sasl.password="$KAFKA_SASL_PASSWORD")
export_sasl() {
    export EXPLAINQ_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT EXPLAINQ_KAFKA_SASL_MECHANISM=PLAIN \
        EXPLAINQ_KAFKA_SASL_USERNAME="$KAFKA_SASL_USER" EXPLAINQ_KAFKA_SASL_PASSWORD="$KAFKA_SASL_PASSWORD"
}
MPORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$tmp/worker.conf" <<CONF
# the worker's file: the same keys as -X
bootstrap.servers = $B
kafka.security.protocol = SASL_PLAINTEXT
kafka.sasl.mechanism = PLAIN
kafka.sasl.username = $KAFKA_SASL_USER
kafka.sasl.password = $KAFKA_SASL_PASSWORD
redis.url = $REDIS_URL
redis.password = r-$T
topic.jobs = jobs-$T
topic.results = results-$T
topic.dlq = dlq-$T
topic.replies = replies-$T
group.id = workers-$T
metrics.port = $MPORT
metrics.host = 127.0.0.1
CONF

# A. topics with -X (and the new --replication-factor / --config), runner with EXPLAINQ_KAFKA_*,
# worker with -c FILE, submit with -X, collect with the environment, status with -c FILE
"$X" topics create -b "$B" "${SASL[@]}" --partitions 2 --replication-factor 1 \
    --config retention.ms=3600000 --config min.insync.replicas=1 \
    "jobs-$T" "results-$T" "dlq-$T" "replies-$T" "explain.infer.m$T"
( export_sasl; exec "$X" runner --model tests/data/onnx/mlp20.onnx --name "m$T" -b "$B" ) \
    2>"$tmp/runner.log" &
pid[runner]=$!
"$X" worker -c "$tmp/worker.conf" -X worker.id="w-$T" 2>"$tmp/worker.log" &
pid[worker]=$!
head -n 6 tests/data/instances/mlp20.jsonl >"$tmp/6.jsonl"
"$X" submit -b "$B" "${SASL[@]}" -X topic.jobs="jobs-$T" --model "m$T" \
    --spec tests/data/specs/mlp20_shapley.json --instances "$tmp/6.jsonl" --job-size 2 \
    --prefix "j$T" --jobs-out "$tmp/jobs"
( export_sasl; exec "$X" collect -b "$B" -X topic.results="results-$T" --jobs "$tmp/jobs" \
    --out "$tmp/out" --timeout 120 ) 2>"$tmp/collect.err" ||
    { cat "$tmp/collect.err" "$tmp/worker.log" "$tmp/runner.log"; exit 1; }
grep -q "3 of 3 jobs, 0 failed, 0 duplicate results" "$tmp/collect.err" || { cat "$tmp/collect.err"; exit 1; }
[ "$(grep -c '"attributions"' "$tmp/out")" -eq 6 ]
"$X" status -c "$tmp/worker.conf" >"$tmp/status"
grep -q "^jobs-$T: 0 jobs waiting for the group workers-$T" "$tmp/status" || { cat "$tmp/status"; exit 1; }
grep -q "^jobs-$T/[01]: committed [0-9]" "$tmp/status"
echo "A: SASL by -X, EXPLAINQ_KAFKA_* and -c FILE for topics, runner, worker, submit, collect, status"

# B. the worker wrote progress with the password; status JOB reads it with the same option
"$X" status -c "$tmp/worker.conf" "j$T-000000" >"$tmp/job"
grep -qx "state=done" "$tmp/job"
"$X" status --redis "$REDIS_URL" -X redis.password=wrong "j$T-000000" 2>"$tmp/e" && exit 1
grep -q "WRONGPASS" "$tmp/e"
"$X" status --redis "$REDIS_URL" "j$T-000000" 2>"$tmp/e" && exit 1
grep -q "NOAUTH" "$tmp/e"
"$X" spec put tests/data/specs/mlp20_shapley.json -c "$tmp/worker.conf" >"$tmp/id"
[ "$(cat "$tmp/id")" = "$("$X" spec id tests/data/specs/mlp20_shapley.json)" ]
"$X" spec put tests/data/specs/mlp20_shapley.json --redis "$REDIS_URL" 2>"$tmp/e" && exit 1
grep -q "NOAUTH" "$tmp/e"
echo "B: redis.password used by the worker, status and spec put; wrong or none refused"

# D. the brokers gone: the worker stays alive (/healthz) and says it is not ready (/readyz)
curl -s "http://127.0.0.1:$MPORT/readyz" | grep -qx ready
deploy/local/kafka-down.sh "$KDIR" >/dev/null 2>&1; KDIR=""
for _ in $(seq 1 300); do
    curl -s "http://127.0.0.1:$MPORT/readyz" >"$tmp/ready" || true
    grep -qx "brokers unreachable" "$tmp/ready" && break
    sleep 0.1
done
grep -qx "brokers unreachable" "$tmp/ready"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/readyz")" = 503 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/healthz")" = 200 ]
echo "D: with the broker gone, /readyz is 503 (brokers unreachable), /healthz 200"
