#!/usr/bin/env bash
# 0151-metrics: a worker and a runner with metrics.port; jobs of two methods, some failing.
# /metrics is parsed with prometheus_client's own text parser and every counter is checked
# against what happened: jobs received / completed / failed by code (the results), dead
# letters by code (the DLQ), instances by method, model rows (the methods' closed-form row
# counts: Sampled Shapley 2 + P(M-1) rows per instance, IG 2 + n), one baseline row per
# instance (cache hits + misses), rows sent = received = the runner's rows, approximationError
# (count and sum over the results), lag 0 at the end. /healthz and /readyz answer.
set -euo pipefail
[ -x .venv/bin/python3 ] || { echo "no .venv (prometheus-client, PyYAML): run make deps"; exit 1; }
X="$EXPLAINQ"
T="mt$$"
B="$KAFKA_BOOTSTRAP"
PY=.venv/bin/python3
JOBS="explainq_test_${T}_jobs" RES="explainq_test_${T}_results" DLQ="explainq_test_${T}_dlq"
REP="explainq_test_${T}_replies" MODEL="mlp$T" GROUP="explainq_test_${T}_workers"
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
WPORT="$(free_port)" RPORT="$(free_port)"

"$X" topics create -b "$B" --partitions 3 "$JOBS" "$RES" "$DLQ" "explain.infer.$MODEL" "$REP"
"$X" runner --model tests/data/onnx/mlp20.onnx --name "$MODEL" -b "$B" \
    -X metrics.port="$RPORT" -X metrics.host=127.0.0.1 2>"$tmp/runner.log" &
pid[runner]=$!
"$X" worker -b "$B" -X topic.jobs="$JOBS" -X topic.results="$RES" -X topic.dlq="$DLQ" \
    -X topic.replies="$REP" -X group.id="$GROUP" -X redis.url="$REDIS_URL" -X worker.id="w-$T" \
    -X metrics.port="$WPORT" -X metrics.host=127.0.0.1 -X max.instances.per.job=20 \
    2>"$tmp/worker.log" &
pid[worker]=$!
get() { curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$1$2"; }
for _ in $(seq 1 100); do [ "$(get "$WPORT" /healthz)" = 200 ] && break; sleep 0.1; done
[ "$(get "$WPORT" /healthz)" = 200 ]
[ "$(get "$WPORT" /nothing)" = 404 ]
# ready once the worker holds job partitions
for _ in $(seq 1 200); do [ "$(get "$WPORT" /readyz)" = 200 ] && break; sleep 0.1; done
[ "$(get "$WPORT" /readyz)" = 200 ]
[ "$(get "$RPORT" /readyz)" = 200 ]

head -n 7 tests/data/instances/mlp20.jsonl >"$tmp/7.jsonl"
head -n 21 tests/data/instances/mlp20.jsonl >"$tmp/21.jsonl"
printf '{"f00": 1}\n' >"$tmp/bad.jsonl"
S=tests/data/specs/mlp20_shapley.json IG=tests/data/specs/mlp20_ig.json
sub() { "$X" submit -b "$B" --topic "$JOBS" --model "$MODEL" "$@" >>"$tmp/jobs" 2>/dev/null; }
sub --spec "$S" --instances "$tmp/7.jsonl" --job-size 3 --prefix "S$T"      # 3 jobs: 3 + 3 + 1
sub --spec "$IG" --instances "$tmp/7.jsonl" --job-size 4 --prefix "I$T"     # 2 jobs: 4 + 3
sub --spec "$S" --instances "$tmp/bad.jsonl" --prefix "Bi$T"                # invalid_argument
sub --spec "$S" --instances "$tmp/21.jsonl" --job-size 21 --prefix "Bl$T"   # limit_exceeded
sub --spec-id "$(printf '0%.0s' $(seq 1 64))" --instances "$tmp/7.jsonl" --prefix "Bn$T" # not_found
printf '\xc1 not a job' >"$tmp/garbage"
"$BUILD/test_kafkatool" produce "$JOBS" "garbage$T" "$tmp/garbage"           # dead letter only
rc=0 # collect exits 1: some jobs fail, on purpose
"$X" collect -b "$B" --topic "$RES" --jobs "$tmp/jobs" --out "$tmp/out" --timeout 120 \
    2>"$tmp/collect.err" || rc=$?
[ "$rc" -eq 1 ]
"$BUILD/test_kafkatool" dlq "$DLQ" 4 60 >"$tmp/dlq"
sleep 2.5 # two metric samples (once a second) after the last job
# the lag of every partition is sampled once a second: on a loaded machine wait (up to 15 s)
# until each has one; the checks below are unchanged
for _ in $(seq 1 30); do
    curl -sf "http://127.0.0.1:$WPORT/metrics" >"$tmp/worker.prom"
    [ "$(grep -c '^explainq_consumer_lag{' "$tmp/worker.prom")" -ge 3 ] && break
    sleep 0.5
done
curl -sf "http://127.0.0.1:$RPORT/metrics" >"$tmp/runner.prom"

"$PY" - "$tmp" "$JOBS" <<'PY'
import collections, json, math, sys
from prometheus_client.parser import text_string_to_metric_families
tmp, jobs_topic = sys.argv[1:]

def parse(path):
    out = {}
    for fam in text_string_to_metric_families(open(path).read()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out
w, r = parse(f"{tmp}/worker.prom"), parse(f"{tmp}/runner.prom")
def val(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))), 0.0)
def check(what, got, want, tol=0.0):
    ok = abs(got - want) <= tol * max(1.0, abs(want))
    print(f"{'ok ' if ok else 'BAD'} {what}: {got} (expected {want})")
    if not ok:
        sys.exit(1)

lines = [json.loads(l) for l in open(f"{tmp}/out")]
# collect writes in the jobs file's order: 7 Shapley instances, 7 IG instances, then errors
errors = collections.Counter()
by_method = collections.Counter()
approx = collections.defaultdict(list)
for i, o in enumerate(lines):
    if "error" in o:
        errors[(o["id"], o["error"]["code"])] += 1
        continue
    m = "sampledShapleyAttribution" if i < 7 else "integratedGradientsAttribution"
    by_method[m] += 1
    for a in o["attributions"]:
        if "approximationError" in a:
            approx[m].append(a["approximationError"])
codes = collections.Counter(code for (_, code) in errors)
failed_jobs = len(errors)
good_jobs = 5
dlq = collections.Counter(l.split()[1] for l in open(f"{tmp}/dlq"))

check("jobs received", val(w, "explainq_jobs_received_total"), good_jobs + failed_jobs + 1)
check("jobs completed", val(w, "explainq_jobs_completed_total"), good_jobs)
for code, n in codes.items():
    check(f"jobs failed {code}", val(w, "explainq_jobs_failed_total", code=code), n)
check("failed codes seen", len(codes), 3)
check("undecodable job counted as failed", val(w, "explainq_jobs_failed_total", code="undecodable"), 1)
for code, n in dlq.items():
    check(f"dead letters {code}", val(w, "explainq_dlq_messages_total", code=code), n)
check("dead letters", sum(dlq.values()), 4)
check("shapley instances", by_method["sampledShapleyAttribution"], 7)
check("ig instances", by_method["integratedGradientsAttribution"], 7)
for m, n in by_method.items():
    check(f"instances explained {m}", val(w, "explainq_instances_explained_total", method=m), n)
    check(f"approximationError count {m}", val(w, "explainq_approximation_error_count", method=m),
          len(approx[m]))
    check(f"approximationError sum {m}", val(w, "explainq_approximation_error_sum", method=m),
          math.fsum(approx[m]), 1e-9)
    inf = val(w, "explainq_approximation_error_bucket", method=m, le="+Inf")
    check(f"approximationError +Inf bucket {m}", inf, len(approx[m]))
# rows: Shapley 2 + P(M-1) = 2 + 10*19 = 192 per instance, IG 2 + stepCount = 52; one of each
# instance's rows is its (all-zero) baseline, answered by the cache after the first
model = [k[1][0][1] for k in w if k[0] == "explainq_model_rows_sent_total"][0]
sent = val(w, "explainq_model_rows_sent_total", model=model)
hits = val(w, "explainq_baseline_cache_hits_total")
misses = val(w, "explainq_baseline_cache_misses_total")
check("model rows (sent + cache hits)", sent + hits, 7 * 192 + 7 * 52)
check("baseline rows (hits + misses)", hits + misses, 14)
check("rows received", val(w, "explainq_model_rows_received_total", model=model), sent)
check("runner rows", val(r, "explainq_runner_rows_total"), sent)
reqs = val(w, "explainq_inference_request_seconds_count", model=model)
check("runner requests = worker requests", val(r, "explainq_runner_requests_total", result="ok"), reqs)
check("rows in flight", val(w, "explainq_rows_in_flight"), 0)
check("transaction aborts", val(w, "explainq_transaction_aborts_total"), 0)
if val(w, "explainq_transaction_commits_total") < 1:
    sys.exit("no commit counted")
lags = {k: v for k, v in w.items() if k[0] == "explainq_consumer_lag"}
check("partitions with a lag", len(lags), 3)
for k, v in lags.items():
    assert dict(k[1])["topic"] == jobs_topic, k
    check(f"lag {dict(k[1])['partition']}", v, 0)
check("assigned partitions", val(w, "explainq_assigned_partitions"), 3)
PY
[ "$(get "$WPORT" /readyz)" = 200 ]
grep -qx ready "$tmp/body"
kill -TERM "${pid[worker]}" "${pid[runner]}"
wait "${pid[worker]}"
wait "${pid[runner]}" || true
# a worker holding no job partitions (its topic does not exist) is alive but not ready
NPORT="$(free_port)"
"$X" worker -b "$B" -X topic.jobs="none-$T" -X topic.replies="$REP" -X group.id="none-$T" \
    -X redis.url="" -X metrics.port="$NPORT" -X metrics.host=127.0.0.1 2>"$tmp/none.log" &
pid[none]=$!
for _ in $(seq 1 100); do [ "$(get "$NPORT" /healthz)" = 200 ] && break; sleep 0.1; done
sleep 1.5
[ "$(get "$NPORT" /healthz)" = 200 ]
[ "$(get "$NPORT" /readyz)" = 503 ]
grep -qx "no job partitions assigned" "$tmp/body"
kill -TERM "${pid[none]}"; wait "${pid[none]}"
echo "metrics: every counter equals what happened; /readyz 503 without partitions"
