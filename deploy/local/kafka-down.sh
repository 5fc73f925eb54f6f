#!/usr/bin/env bash
# kafka-down.sh DIR -- stops the broker kafka-up.sh started in DIR (by its
# recorded PID only) and removes DIR.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh"
D="${1:?usage: kafka-down.sh KAFKA_HOME_DIR}"
case "$D" in /tmp/explainq-kafka.*) ;; *) echo "kafka-down: refusing to remove $D" >&2; exit 2 ;; esac
stop_pid "$D/kafka.pid"
rm -rf "$D"
