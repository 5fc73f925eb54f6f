#!/usr/bin/env bash
# redis-up.sh -- starts a real redis-server on 127.0.0.1 at a free port, with no
# persistence, and waits until it answers PING. Prints REDIS_URL=host:port and
# REDIS_HOME_DIR=dir (stop it with redis-down.sh DIR). REDIS_PASSWORD=pw makes
# it require that password (requirepass).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh"
command -v redis-server >/dev/null || { echo "redis-up: redis-server is missing (make deps installs it)" >&2; exit 1; }
auth=()
[ -z "${REDIS_PASSWORD:-}" ] || auth=(--requirepass "$REDIS_PASSWORD")
ping_auth=()
[ -z "${REDIS_PASSWORD:-}" ] || ping_auth=(--no-auth-warning -a "$REDIS_PASSWORD")

for attempt in 1 2 3; do
    port="$(free_port)"
    REDIS_HOME_DIR="$(mktemp -d /tmp/explainq-redis.XXXXXX)"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$REDIS_HOME_DIR" \
        --save '' --appendonly no --daemonize no "${auth[@]+"${auth[@]}"}" \
        --logfile "$REDIS_HOME_DIR/redis.log" </dev/null >/dev/null 2>&1 &
    echo $! >"$REDIS_HOME_DIR/redis.pid"
    for _ in $(seq 1 100); do
        if redis-cli -h 127.0.0.1 -p "$port" "${ping_auth[@]+"${ping_auth[@]}"}" ping 2>/dev/null | grep -q PONG; then
            echo "REDIS_URL=127.0.0.1:$port"
            echo "REDIS_HOME_DIR=$REDIS_HOME_DIR"
            exit 0
        fi
        kill -0 "$(cat "$REDIS_HOME_DIR/redis.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "redis-up: redis-server did not start on port $port (attempt $attempt)" >&2
    tail -n 20 "$REDIS_HOME_DIR/redis.log" >&2 || true
    "$HERE/redis-down.sh" "$REDIS_HOME_DIR" >/dev/null 2>&1 || true
done
exit 1
