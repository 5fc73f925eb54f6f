#!/usr/bin/env bash
# redis-down.sh DIR -- stops the redis-server redis-up.sh started in DIR and removes DIR.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh"
D="${1:?usage: redis-down.sh REDIS_HOME_DIR}"
case "$D" in /tmp/explainq-redis.*) ;; *) echo "redis-down: refusing to remove $D" >&2; exit 2 ;; esac
stop_pid "$D/redis.pid"
rm -rf "$D"
