#!/usr/bin/env bash
# 0020-status-names: `explainq status` follows the names the configuration gives, on a real
# broker and redis-server:
#   A. without JOB it reports the lag on the topic the workers read: topic.jobs, or
#      input.topic when input.format=instances (a stream), in group.id; --topic and --group
#      name others
#   B. with JOB it reads the progress hash explainq:job:<id> (common/names.h); a job id too
#      long for one is refused, not cut
#   C. every --backend help text names the backend table's backends (common/models/load.c),
#      and an unknown backend is refused with the same list
set -euo pipefail
X="$EXPLAINQ"
B="$KAFKA_BOOTSTRAP"
T="st$$"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$X" topics create -b "$B" --partitions 2 --replication-factor 1 "jobs-$T" "stream-$T" >/dev/null
head -n 5 tests/data/instances/mlp20.jsonl >"$tmp/5.jsonl"
submit() { # $1: topic, $2: jobs
    "$X" submit -b "$B" --topic "$1" --model "m$T" --spec tests/data/specs/mlp20_shapley.json \
        --instances "$tmp/5.jsonl" --job-size $((5 / $2 + (5 % $2 > 0))) --prefix "$1" \
        --jobs-out /dev/null 2>/dev/null
}
submit "jobs-$T" 2   # 2 jobs
submit "stream-$T" 5 # 5 messages

printf 'bootstrap.servers=%s\ngroup.id=g-%s\ntopic.jobs=jobs-%s\n' "$B" "$T" "$T" >"$tmp/jobs.conf"
cp "$tmp/jobs.conf" "$tmp/stream.conf"
printf 'input.format=instances\ninput.topic=stream-%s\n' "$T" >>"$tmp/stream.conf"

"$X" status -c "$tmp/jobs.conf" >"$tmp/out"
grep -qx "jobs-$T: 2 jobs waiting for the group g-$T" "$tmp/out" || { cat "$tmp/out"; exit 1; }
[ "$(grep -c "^jobs-$T/[01]: committed none, end [0-9]*, lag [0-9]*$" "$tmp/out")" = 2 ]
# the stream's workers read input.topic: that is their lag, not topic.jobs'
"$X" status -c "$tmp/stream.conf" >"$tmp/out"
grep -qx "stream-$T: 5 jobs waiting for the group g-$T" "$tmp/out" || { cat "$tmp/out"; exit 1; }
! grep -q "^jobs-$T" "$tmp/out"
"$X" status -c "$tmp/stream.conf" --topic "jobs-$T" --group "other-$T" >"$tmp/out"
grep -qx "jobs-$T: 2 jobs waiting for the group other-$T" "$tmp/out" || { cat "$tmp/out"; exit 1; }
"$X" status -b "$B" -X input.format=instances -X input.topic="stream-$T" >"$tmp/out"
grep -qx "stream-$T: 5 jobs waiting for the group explainq-workers" "$tmp/out" ||
    { cat "$tmp/out"; exit 1; }
# a topic that does not exist is an error naming it
"$X" status -b "$B" --topic "none-$T" >/dev/null 2>"$tmp/err" && exit 1
grep -q "no topic none-$T" "$tmp/err"
echo "A: status reads topic.jobs, input.topic for a stream, --topic, --group"

host="${REDIS_URL%:*}" port="${REDIS_URL##*:}"
redis-cli -h "$host" -p "$port" HSET "explainq:job:j-$T" state done instances 5 >/dev/null
"$X" status --redis "$REDIS_URL" "j-$T" >"$tmp/out"
grep -qx "job j-$T" "$tmp/out" && grep -qx "state=done" "$tmp/out" && grep -qx "instances=5" "$tmp/out" ||
    { cat "$tmp/out"; exit 1; }
redis-cli -h "$host" -p "$port" DEL "explainq:job:j-$T" >/dev/null
long="$(printf 'j%.0s' $(seq 1 300))"
rc=0
"$X" status --redis "$REDIS_URL" "$long" >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] && grep -q "a job id has at most 255 bytes" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "B: status JOB reads explainq:job:<id>; a job id too long is refused"

names="onnx, onnx-interp, xgboost, http or dense"
for cmd in explain runner "index build"; do
    # shellcheck disable=SC2086
    "$X" $cmd --help | grep -q -- "--backend NAME *$names" || { echo "$cmd --help:"; "$X" $cmd --help; exit 1; }
done
! grep -rq "@BACKENDS@" <("$X" explain --help; "$X" runner --help; "$X" index build --help)
"$X" model info tests/data/models/linear3.json --backend tflite >/dev/null 2>"$tmp/err" && exit 1
grep -q "unknown model backend \"tflite\" ($names)" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "C: --backend help texts and errors list the backend table"
