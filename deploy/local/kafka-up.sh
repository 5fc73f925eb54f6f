#!/usr/bin/env bash
# kafka-up.sh -- starts a real single-node Apache Kafka (KRaft, broker and
# controller in one JVM) on 127.0.0.1 at free ports, and waits until it serves.
# On success prints KAFKA_BOOTSTRAP=host:port and KAFKA_HOME_DIR=dir (stop it
# with kafka-down.sh DIR); on failure prints the broker's log tail and exits 1.
# KAFKA_SASL=1: clients connect with SASL_PLAINTEXT and SASL/PLAIN (user explainq,
# password explainq-secret, also printed as KAFKA_SASL_USER / KAFKA_SASL_PASSWORD);
# the brokers talk among themselves on a plaintext listener of their own.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_LIBS="${KAFKA_LIBS:-$TOP/.kafka/libs-$KAFKA_VERSION}"
KAFKA_CLUSTER_ID="${KAFKA_CLUSTER_ID:-MkU3OEVBNTcwNTJENDM2Qk}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

"$HERE/kafka-fetch.sh"
command -v java >/dev/null || { echo "kafka-up: java is missing (make deps installs it)" >&2; exit 1; }

start_once() {
    local port cport iport listeners advertised protomap extra=""
    port="$(free_port)"
    cport="$(free_port)"
    [ "$port" != "$cport" ] || cport=$((port + 1))
    listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
    advertised="PLAINTEXT://127.0.0.1:$port"
    protomap="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    if [ -n "${KAFKA_SASL:-}" ]; then
        iport="$(free_port)"
        listeners="SASL_PLAINTEXT://127.0.0.1:$port,PLAINTEXT://127.0.0.1:$iport,CONTROLLER://127.0.0.1:$cport"
        advertised="SASL_PLAINTEXT://127.0.0.1:$port,PLAINTEXT://127.0.0.1:$iport"
        protomap="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
        extra="sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_explainq=\"explainq-secret\";"
    fi
    KAFKA_HOME_DIR="$(mktemp -d /tmp/explainq-kafka.XXXXXX)"
    mkdir -p "$KAFKA_HOME_DIR/data" "$KAFKA_HOME_DIR/logs"
    cat >"$KAFKA_HOME_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners
advertised.listeners=$advertised
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=$protomap
$extra
log.dirs=$KAFKA_HOME_DIR/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
PROPS
    kafka_common_props >>"$KAFKA_HOME_DIR/server.properties"
    kafka_log4j "$KAFKA_HOME_DIR/log4j.properties"
    local opts=(-Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
                -XX:MaxDirectMemorySize=256m -Djava.awt.headless=true
                -Djava.net.preferIPv4Stack=true
                "-Dlog4j.configuration=file:$KAFKA_HOME_DIR/log4j.properties"
                "-Dkafka.logs.dir=$KAFKA_HOME_DIR/logs")
    if ! java "${opts[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
            -t "$KAFKA_CLUSTER_ID" -c "$KAFKA_HOME_DIR/server.properties" -g \
            >"$KAFKA_HOME_DIR/logs/format.out" 2>&1; then
        echo "kafka-up: storage format failed" >&2
        cat "$KAFKA_HOME_DIR/logs/format.out" >&2
        return 1
    fi
    # the launch, kept so kafka-restart.sh can start the same broker again
    {
        echo "#!/usr/bin/env bash"
        printf 'exec java'
        printf ' %q' "${opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_HOME_DIR/server.properties"
        echo
    } >"$KAFKA_HOME_DIR/start.sh"
    # setsid: the broker must not get the terminal's signals meant for the tests
    setsid bash "$KAFKA_HOME_DIR/start.sh" >"$KAFKA_HOME_DIR/logs/kafka.out" 2>&1 </dev/null &
    echo $! >"$KAFKA_HOME_DIR/kafka.pid"
    local pid=$!
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    while [ $SECONDS -lt $deadline ]; do
        if grep -q "Kafka Server started" "$KAFKA_HOME_DIR/logs/kafka.out" 2>/dev/null; then
            echo "KAFKA_BOOTSTRAP=127.0.0.1:$port"
            echo "KAFKA_HOME_DIR=$KAFKA_HOME_DIR"
            if [ -n "${KAFKA_SASL:-}" ]; then
                echo "KAFKA_SASL_USER=explainq"
                echo "KAFKA_SASL_PASSWORD=explainq-secret"
            fi
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "kafka-up: broker exited during startup" >&2
            tail -n 40 "$KAFKA_HOME_DIR/logs/kafka.out" >&2
            return 2
        fi
        sleep 0.5
    done
    echo "kafka-up: broker not ready after ${KAFKA_START_TIMEOUT}s" >&2
    tail -n 40 "$KAFKA_HOME_DIR/logs/kafka.out" >&2
    return 1
}

for attempt in 1 2 3; do
    rc=0
    start_once || rc=$?
    [ $rc -eq 0 ] && exit 0
    "$HERE/kafka-down.sh" "$KAFKA_HOME_DIR" >/dev/null 2>&1 || true
    # 2 = the broker died (a port taken between the check and the bind): retry
    [ $rc -eq 2 ] || exit 1
    echo "kafka-up: retrying with other ports (attempt $attempt)" >&2
done
exit 1
