# lib.sh -- helpers shared by the deploy/local scripts (sourced, not run).

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now, below the ephemeral
# range and none of a local broker's.
# The kernel may still hand it out before the caller binds; the callers
# detect a failed bind and retry with another port.
free_port() {
    local p taken
    # the ports of every local broker, running or not: one kept down for an outage test
    # (kafka-restart.sh) must find its ports free when it comes back
    taken=" $(cat /tmp/explainq-kafka.*/server.properties /tmp/explainq-kafka.*/node*/server.properties \
        2>/dev/null | grep -oE '127\.0\.0\.1:[0-9]+' | cut -d: -f2 | tr '\n' ' ') ${FREE_PORT_TAKEN:-} "
    # below the kernel's ephemeral range (32768 on Linux), from which every client connection
    # takes its local port: a broker kept down for minutes must find its port unused
    local low
    low="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
    [ "$low" -gt 21000 ] 2>/dev/null || low=32768
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % (low - 20000)))
        [[ "$taken" == *" $p "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "no free port found on 127.0.0.1" >&2
    return 1
}

# stop_pid PIDFILE: TERM, wait up to 30 s, then KILL; only the recorded PID.
stop_pid() {
    local pid
    pid="$(cat "$1" 2>/dev/null || true)"
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

# kafka_common_props: the broker settings every local broker shares, for server.properties.
kafka_common_props() {
    cat <<'PROPS'
group.initial.rebalance.delay.ms=0
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
PROPS
}

# kafka_log4j FILE: the local brokers' log4j configuration (INFO to stdout, chatty loggers quiet).
kafka_log4j() {
    cat >"$1" <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
PROPS
}
