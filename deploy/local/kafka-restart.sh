#!/usr/bin/env bash
# kafka-restart.sh DIR [DOWN_S] -- an outage of the broker kafka-up.sh started in
# DIR: kills it (SIGKILL, as a crash would), waits DOWN_S seconds (default 0),
# starts it again on the same ports and data, and waits until it serves.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh"
D="${1:?usage: kafka-restart.sh KAFKA_HOME_DIR [DOWN_S]}"
DOWN_S="${2:-0}"
case "$D" in /tmp/explainq-kafka.*) ;; *) echo "kafka-restart: refusing $D" >&2; exit 2 ;; esac
[ -f "$D/start.sh" ] || { echo "kafka-restart: $D has no start.sh (started by kafka-up.sh?)" >&2; exit 2; }
pid="$(cat "$D/kafka.pid")"
kill -9 "$pid" 2>/dev/null || true
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
sleep "$DOWN_S"
mv "$D/logs/kafka.out" "$D/logs/kafka.out.$(date +%s)"
setsid bash "$D/start.sh" >"$D/logs/kafka.out" 2>&1 </dev/null &
echo $! >"$D/kafka.pid"
pid=$!
deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
while [ $SECONDS -lt $deadline ]; do
    grep -q "Kafka Server started" "$D/logs/kafka.out" 2>/dev/null && exit 0
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$D/logs/kafka.out" >&2; exit 1; }
    sleep 0.5
done
echo "kafka-restart: broker not ready after ${KAFKA_START_TIMEOUT:-90}s" >&2
exit 1
