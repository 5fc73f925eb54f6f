# workers_lib.sh -- helpers for the tests that run several workers side by side and compare what
# they answer (0017, 0018); sourced, not run. The caller sets X, T, B, SPEC and tmp first.
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    tail -n 5 "$tmp"/*.log
    exit 1
}

# $1: worker name, then its own -X options; jobs, results, dead letters and replies on topics
# of its own
start_worker() {
    local n=$1
    shift
    "$X" topics create -b "$B" --partitions 2 "explainq_test_${T}_${n}_jobs" \
        "explainq_test_${T}_${n}_results" "explainq_test_${T}_${n}_dlq" \
        "explainq_test_${T}_${n}_replies" >/dev/null
    "$X" worker -b "$B" -X topic.jobs="explainq_test_${T}_${n}_jobs" \
        -X topic.results="explainq_test_${T}_${n}_results" -X topic.dlq="explainq_test_${T}_${n}_dlq" \
        -X topic.replies="explainq_test_${T}_${n}_replies" -X group.id="explainq_test_${T}_$n" \
        -X worker.id="$n-$T" -X redis.url="$REDIS_URL" "$@" >"$tmp/$n.log" 2>&1 &
    pids+=($!)
}

# $1: worker name, $2: model, $3: instances, $4: seed (optional); results into $tmp/$1.out (job
# ids: the worker and model names, so each part's are new)
explain_via() {
    "$X" submit -b "$B" --topic "explainq_test_${T}_$1_jobs" --model "$2" --spec "$SPEC" \
        --instances "$3" --job-size 100 ${4:+--seed "$4"} --prefix "$1-$2" --jobs-out "$tmp/$1.jobs"
    "$X" collect -b "$B" --topic "explainq_test_${T}_$1_results" --jobs "$tmp/$1.jobs" \
        --out "$tmp/$1.out" --timeout 180 2>"$tmp/$1.collect" || fail "collect $1: $(cat "$tmp/$1.collect")"
}
