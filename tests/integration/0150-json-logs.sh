#!/usr/bin/env bash
# 0150-json-logs: -X log.format=json makes every stderr line of a worker run (and of the
# runner) one JSON object with time, level, component and
# message; the worker's lines carry its worker_id and a failed job's line its job_id.
# log.level=warn drops the info lines; a bad level is refused naming the option.
set -euo pipefail
X="$EXPLAINQ"
T="lg$$"
B="$KAFKA_BOOTSTRAP"
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies" MODEL="mlp$T" GROUP="explainq_test_${T}_workers"
SPEC=tests/data/specs/mlp20_shapley.json
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

"$X" topics create -b "$B" --partitions 2 "$JOBS" "$RES" "$DLQ" "explain.infer.$MODEL" "$REP"
"$X" runner --model tests/data/onnx/mlp20.onnx --name "$MODEL" -b "$B" -X log.format=json \
    2>"$tmp/runner.err" &
pid[runner]=$!
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="$GROUP" -X redis.url="$REDIS_URL" -X worker.id="w-$T" \
    -X log.format=json 2>"$tmp/worker.err" &
pid[worker]=$!

head -n 5 tests/data/instances/mlp20.jsonl >"$tmp/good.jsonl"
printf '{"f00": 1}\n' >"$tmp/bad.jsonl"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/good.jsonl" \
    --prefix "good$T" --jobs-out "$tmp/jobs" -X log.format=json 2>"$tmp/submit.err"
"$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" --spec "$SPEC" --instances "$tmp/bad.jsonl" \
    --prefix "bad$T" -X log.format=json 2>>"$tmp/submit.err" >>"$tmp/jobs"
rc=0 # collect exits 1: the bad job failed, on purpose
EXPLAINQ_LOG_FORMAT=json "$X" collect -b "$B" --topic "$RES" --jobs "$tmp/jobs" --out "$tmp/out" \
    --timeout 120 2>"$tmp/collect.err" || rc=$?
[ "$rc" -eq 1 ]
grep -c '"attributions"' "$tmp/out" | grep -qx 5
grep -q '"id":"bad'"$T"'-000000","error"' "$tmp/out"
kill -TERM "${pid[worker]}" "${pid[runner]}"
wait "${pid[worker]}"
wait "${pid[runner]}" || true

python3 - "$tmp" "w-$T" "bad$T-000000" <<'PY'
import json, sys
tmp, wid, bad = sys.argv[1:]
def lines(name):
    out = []
    for n, line in enumerate(open(f"{tmp}/{name}.err", encoding="utf-8"), 1):
        try:
            o = json.loads(line)
        except ValueError as e:
            sys.exit(f"{name}.err line {n} is not JSON ({e}): {line!r}")
        if not isinstance(o, dict):
            sys.exit(f"{name}.err line {n} is not an object: {line!r}")
        for k in ("time", "level", "component", "message"):
            if not isinstance(o.get(k), str) or not o[k]:
                sys.exit(f"{name}.err line {n} lacks {k}: {line!r}")
        if o["level"] not in ("debug", "info", "warn", "error"):
            sys.exit(f"{name}.err line {n}: level {o['level']!r}")
        out.append(o)
    return out
w = lines("worker")
assert len(w) >= 3, w                          # started, assigned, the failed job, stopping
assert all(o.get("worker_id") == wid for o in w), [o for o in w if o.get("worker_id") != wid]
failed = [o for o in w if o.get("job_id") == bad]
assert failed and failed[0]["level"] == "warn" and bad in failed[0]["message"], w
assert any(o["message"].startswith("started id=" + wid) for o in w), w
r = lines("runner")
assert r, "the runner logged nothing"

print(f"worker: {len(w)} JSON lines, runner: {len(r)}")
PY

# log.level=warn: no info lines; a bad level or format is refused, naming the option
"$X" worker -b 127.0.0.1:1 -X log.level=warn --dump-config >/dev/null
"$X" worker -X log.level=loud --dump-config 2>"$tmp/e" && exit 1
grep -q 'log.level: "loud" is not one of debug, info, warn, error' "$tmp/e"
"$X" status -b "$B" -X log.format=yaml 2>"$tmp/e" && exit 1
grep -q 'log.format: "yaml" is not one of text, json' "$tmp/e"
EXPLAINQ_LOG_LEVEL=warn "$X" topics create -b "$B" --partitions 1 "explainq_test_${T}_x" 2>"$tmp/e"
! grep -q ' INFO ' "$tmp/e"
echo "json logs: every line parsed; worker_id and job_id present; levels and errors checked"
