#!/usr/bin/env bash
# kafka-cluster-down.sh DIR -- stops the nodes kafka-cluster-up.sh started in DIR (by their
# recorded PIDs only) and removes DIR.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh"
D="${1:?usage: kafka-cluster-down.sh KAFKA_CLUSTER_DIR}"
case "$D" in /tmp/explainq-kafka.*) ;; *) echo "kafka-cluster-down: refusing to remove $D" >&2; exit 2 ;; esac
for n in 1 2 3; do stop_pid "$D/node$n/kafka.pid" & done
wait
rm -rf "$D"
