#!/usr/bin/env bash
# run.sh -- runs the integration tests (NNNN-*.sh, in order) against a real
# Apache Kafka broker and a real redis-server that it starts on loopback from
# deploy/local and always stops. Prints one line per test and a summary that
# adds the unit tests' TAP counts when $BUILD/unit.tap exists.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
export BUILD="${BUILD:-build}"
export EXPLAINQ="$TOP/$BUILD/explainq"
cd "$TOP"

KAFKA_HOME_DIR=""
REDIS_HOME_DIR=""
cleanup() {
    [ -n "$KAFKA_HOME_DIR" ] && "$TOP/deploy/local/kafka-down.sh" "$KAFKA_HOME_DIR"
    [ -n "$REDIS_HOME_DIR" ] && "$TOP/deploy/local/redis-down.sh" "$REDIS_HOME_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "integration: starting redis-server and Apache Kafka on 127.0.0.1"
out="$("$TOP/deploy/local/redis-up.sh")" || { echo "integration: redis-server did not start"; exit 1; }
eval "$out"
out="$("$TOP/deploy/local/kafka-up.sh")" || { echo "integration: Kafka did not start"; exit 1; }
eval "$out"
export KAFKA_BOOTSTRAP REDIS_URL
echo "integration: kafka at $KAFKA_BOOTSTRAP, redis at $REDIS_URL"

passed=0
failed=0
report() { # $1: name, $2: exit status, $3: seconds
    if [ "$2" -eq 0 ]; then
        echo "=== Test $1 PASSED ($3s) ==="
        passed=$((passed + 1))
    else
        echo "=== Test $1 FAILED ($3s) ==="
        sed 's/^/    /' "$TOP/$BUILD/$1.log" | tail -n 60
        failed=$((failed + 1))
    fi
}
selected() { # TESTS="0006 0011" runs only the tests whose number is listed
    [ -z "${TESTS:-}" ] || [[ " $TESTS " == *" ${1%%-*} "* ]]
}
# Tests marked "# runs-alongside" start their own services and spend most of their time waiting
# (a broker kept down for minutes): they run in the background beside the others.
declare -A bg_pid=() bg_start=()
for t in "$HERE"/[0-9][0-9][0-9][0-9]-*.sh; do
    name="$(basename "$t" .sh)"
    selected "$name" && grep -q '^# runs-alongside' "$t" || continue
    bash "$t" >"$TOP/$BUILD/$name.log" 2>&1 &
    bg_pid[$name]=$!
    bg_start[$name]=$SECONDS
    echo "=== Test $name started alongside ==="
done
for t in "$HERE"/[0-9][0-9][0-9][0-9]-*.sh; do
    name="$(basename "$t" .sh)"
    selected "$name" && [ -z "${bg_pid[$name]:-}" ] || continue
    start=$SECONDS
    rc=0
    bash "$t" >"$TOP/$BUILD/$name.log" 2>&1 || rc=$?
    report "$name" "$rc" $((SECONDS - start))
done
for name in "${!bg_pid[@]}"; do
    rc=0
    wait "${bg_pid[$name]}" || rc=$?
    report "$name" "$rc" $((SECONDS - bg_start[$name]))
done

unit_ok=0
unit_fail=0
if [ -f "$TOP/$BUILD/unit.tap" ]; then
    unit_ok=$(grep -c '^ok ' "$TOP/$BUILD/unit.tap" || true)
    unit_fail=$(grep -c '^not ok ' "$TOP/$BUILD/unit.tap" || true)
    echo "unit: $unit_ok passed, $unit_fail failed"
fi
echo "integration: $passed passed, $failed failed"
echo "tests: $((unit_ok + passed)) passed, $((unit_fail + failed)) failed"
[ "$failed" -eq 0 ] && [ "$unit_fail" -eq 0 ]
