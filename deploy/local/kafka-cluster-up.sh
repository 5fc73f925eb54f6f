#!/usr/bin/env bash
# kafka-cluster-up.sh -- starts a real 3-node Apache Kafka cluster (KRaft: each node a
# broker and one of three controller voters) on 127.0.0.1 at free ports, with the
# settings of a production cluster: replication factor 3 everywhere (the offsets and
# transaction logs too) and min.insync.replicas 2. Prints KAFKA_BOOTSTRAP (all three)
# and KAFKA_CLUSTER_DIR. "$KAFKA_CLUSTER_DIR/node.sh start|kill N" starts node N again
# (same ports and data) or SIGKILLs it; kafka-cluster-down.sh DIR stops all.
# KAFKA_NODE_HEAP (default 384m) is each JVM's heap.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
. "$HERE/lib.sh"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_LIBS="${KAFKA_LIBS:-$TOP/.kafka/libs-$KAFKA_VERSION}"
HEAP="${KAFKA_NODE_HEAP:-384m}"
TIMEOUT="${KAFKA_START_TIMEOUT:-120}"

# a port taken between free_port and the JVM's bind (another test starting a broker): the
# whole start is tried again on other ports, up to three times
if [ -z "${KAFKA_CLUSTER_ATTEMPT:-}" ]; then
    for attempt in 1 2 3; do
        rc=0
        KAFKA_CLUSTER_ATTEMPT=$attempt bash "${BASH_SOURCE[0]}" "$@" || rc=$?
        [ $rc -eq 3 ] || exit $rc
        echo "kafka-cluster-up: a port was taken; retrying with other ports (attempt $attempt)" >&2
    done
    exit 1
fi

"$HERE/kafka-fetch.sh"
command -v java >/dev/null || { echo "kafka-cluster-up: java is missing (make deps installs it)" >&2; exit 1; }
D="$(mktemp -d /tmp/explainq-kafka.XXXXXX)"
declare -a P C
FREE_PORT_TAKEN=""
for n in 1 2 3; do # six distinct ports
    P[$n]="$(free_port)"
    FREE_PORT_TAKEN="$FREE_PORT_TAKEN ${P[$n]}"
    C[$n]="$(free_port)"
    FREE_PORT_TAKEN="$FREE_PORT_TAKEN ${C[$n]}"
done
voters="1@127.0.0.1:${C[1]},2@127.0.0.1:${C[2]},3@127.0.0.1:${C[3]}"
for n in 1 2 3; do
    mkdir -p "$D/node$n/data" "$D/node$n/logs"
    cat >"$D/node$n/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${P[$n]},CONTROLLER://127.0.0.1:${C[$n]}
advertised.listeners=PLAINTEXT://127.0.0.1:${P[$n]}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$D/node$n/data
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=3
default.replication.factor=3
min.insync.replicas=2
PROPS
    kafka_common_props >>"$D/node$n/server.properties"
    kafka_log4j "$D/node$n/log4j.properties"
done
# node.sh: start (again, same ports and data) or SIGKILL one node, by its recorded PID only
cat >"$D/node.sh" <<NODE
#!/usr/bin/env bash
set -euo pipefail
n="\${2:?usage: node.sh start|kill N}"
d="$D/node\$n"
case "\$1" in
start)
    opts=(-Xms128m -Xmx$HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:MaxDirectMemorySize=128m
          -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
          "-Dlog4j.configuration=file:\$d/log4j.properties" "-Dkafka.logs.dir=\$d/logs")
    : >"\$d/logs/kafka.out"
    setsid java "\${opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "\$d/server.properties" \\
        >"\$d/logs/kafka.out" 2>&1 </dev/null &
    echo \$! >"\$d/kafka.pid" ;;
kill)
    kill -9 "\$(cat "\$d/kafka.pid")"
    while kill -0 "\$(cat "\$d/kafka.pid")" 2>/dev/null; do sleep 0.1; done ;;
*) echo "usage: node.sh start|kill N" >&2; exit 2 ;;
esac
NODE
chmod +x "$D/node.sh"
fail() {
    local rc=1
    echo "kafka-cluster-up: $1" >&2
    for n in 1 2 3; do tail -n 20 "$D/node$n/logs/kafka.out" >&2 2>/dev/null || true; done
    grep -qs "Address already in use" "$D"/node*/logs/kafka.out && rc=3
    "$HERE/kafka-cluster-down.sh" "$D" >/dev/null 2>&1 || true
    exit $rc
}
for n in 1 2 3; do
    java -cp "$KAFKA_LIBS/*" "-Dlog4j.configuration=file:$D/node$n/log4j.properties" \
        kafka.tools.StorageTool format -t "${KAFKA_CLUSTER_ID:-MkU3OEVBNTcwNTJENDM2Qk}" \
        -c "$D/node$n/server.properties" -g >"$D/node$n/logs/format.out" 2>&1 ||
        fail "storage format of node $n failed"
done
for n in 1 2 3; do "$D/node.sh" start "$n"; done
deadline=$((SECONDS + TIMEOUT))
for n in 1 2 3; do
    until grep -q "Kafka Server started" "$D/node$n/logs/kafka.out" 2>/dev/null; do
        kill -0 "$(cat "$D/node$n/kafka.pid")" 2>/dev/null || fail "node $n exited during startup"
        [ $SECONDS -lt $deadline ] || fail "node $n not ready after ${TIMEOUT}s"
        sleep 0.5
    done
done
echo "KAFKA_BOOTSTRAP=127.0.0.1:${P[1]},127.0.0.1:${P[2]},127.0.0.1:${P[3]}"
echo "KAFKA_CLUSTER_DIR=$D"
