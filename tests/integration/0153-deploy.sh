#!/usr/bin/env bash
# 0153-deploy: deploy/ as a cluster would use it (no container engine here, so no image build):
#   A. deploy_check.py parses every manifest (valid YAML), and checks them against each other
#      and against explainq: probes on the paths and port it serves, the ScaledObjects' group
#      and topic from the ConfigMap, grace periods over shutdown.grace.ms, Dockerfile stages,
#      non-root USER and HEALTHCHECK, systemd units' restart policy and environment file
#   B. the containers' and units' exact command lines with their exact environment are
#      accepted by explainq (--dump-config: SASL_SSL from the ConfigMap, secrets masked)
#   C. the same command lines run against the test broker and Redis, the environment changed
#      only where the test cluster differs (addresses, no SASL_SSL, one broker: RF 1, free
#      metrics ports, topic names of this test): the topics Job exits 0, the probes of the
#      manifests answer 200, jobs get their results, SIGTERM ends the worker within its grace
#   D. the worker systemd unit's ExecStart and environment file, likewise
set -euo pipefail
[ -x .venv/bin/python3 ] || { echo "no .venv (prometheus-client, PyYAML): run make deps"; exit 1; }
X="$EXPLAINQ"
T="dp$$"
tmp="$(mktemp -d)"
declare -A pid=()
cleanup() {
    for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A
.venv/bin/python3 tests/integration/deploy_check.py "$tmp"
. "$tmp/deploy.sh"

# B: exact command lines and environment, configuration only
run_env() { env -i PATH="$PATH" "$@"; }
for args in JOB_ARGS WORKER_ARGS RUNNER_ARGS; do
    declare -n a=$args
    run_env "${POD_ENV[@]}" EXPLAINQ_WORKER_ID=explainq-worker-7f9c6d5b8-x2x9z \
        "$X" "${a[@]}" --dump-config >"$tmp/dump" || { echo "$args refused"; exit 1; }
    grep -qx 'kafka.security.protocol=SASL_SSL' "$tmp/dump"
    grep -qx 'kafka.sasl.password=\*\*\*\*' "$tmp/dump"
    grep -q '^redis.password=\*\*\*\*  # env' "$tmp/dump"
    grep -q '^bootstrap.servers=kafka-0.kafka:9093,kafka-1.kafka:9093,kafka-2.kafka:9093  # env' "$tmp/dump"
    grep -q '^log.format=json  # env' "$tmp/dump"
    ! grep -q change-me "$tmp/dump"
done
unit() { # $1: array name; the unit's %H and %i, and explainq's path here
    declare -n u=$1
    local out=()
    for w in "${u[@]}"; do
        w="${w//%H/$(hostname)}"; w="${w//%i/$2}"; out+=("${w/\/usr\/local\/bin\/explainq/$X}")
    done
    printf '%s\n' "${out[@]}"
}
mapfile -t WU < <(unit WORKER_UNIT 1)
mapfile -t RU < <(unit RUNNER_UNIT mymodel)
run_env "${UNIT_ENV[@]}" "${WU[@]}" --dump-config | grep -q "^worker.id=$(hostname)-worker-1  # -X"
run_env "${UNIT_ENV[@]}" "${RU[@]}" --dump-config | grep -qx 'kafka.security.protocol=SASL_SSL'
echo "B: every container and unit command line is accepted with its environment"

# C: against the test services
WPORT="$(free_port)" RPORT="$(free_port)"
test_env() { # the pod environment, where the test cluster differs
    for kv in "${POD_ENV[@]}"; do
        case "$kv" in
        EXPLAINQ_KAFKA_*) ;; # a plaintext test broker: no SASL_SSL
        EXPLAINQ_BOOTSTRAP_SERVERS=*) echo "EXPLAINQ_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP" ;;
        EXPLAINQ_REDIS_URL=*) echo "EXPLAINQ_REDIS_URL=$REDIS_URL" ;;
        EXPLAINQ_REDIS_PASSWORD=*) ;;
        EXPLAINQ_TOPIC_*|EXPLAINQ_GROUP_ID=*) echo "${kv%%=*}=${kv#*=}.$T" ;;
        *) echo "$kv" ;;
        esac
    done
}
mapfile -t ENV < <(test_env)
job=()
for w in "${JOB_ARGS[@]}"; do
    case "$w" in
    explain.infer.*) job+=("$w") ;;
    explain.*) job+=("$w.$T") ;;
    min.insync.replicas=2) job+=(min.insync.replicas=1) ;;
    *) job+=("$w") ;;
    esac
done
for i in "${!job[@]}"; do [ "${job[$i]}" = --replication-factor ] && job[$((i + 1))]=1; done
run_env "${ENV[@]}" "$X" "${job[@]}"
runner=()
for w in "${RUNNER_ARGS[@]}"; do runner+=("${w/\/models\/model.onnx/tests/data/onnx/mlp20.onnx}"); done
# env execs explainq: $! is the process itself
env -i PATH="$PATH" "${ENV[@]}" EXPLAINQ_METRICS_PORT="$RPORT" "$X" "${runner[@]}" \
    2>"$tmp/runner.log" &
pid[runner]=$!
env -i PATH="$PATH" "${ENV[@]}" EXPLAINQ_METRICS_PORT="$WPORT" EXPLAINQ_WORKER_ID="explainq-worker-$T" \
    "$X" "${WORKER_ARGS[@]}" 2>"$tmp/worker.log" &
pid[worker]=$!
probe() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2"; }
for _ in $(seq 1 200); do
    [ "$(probe "$WPORT" /readyz)" = 200 ] && [ "$(probe "$RPORT" /readyz)" = 200 ] && break
    sleep 0.1
done
for p in "$WPORT" "$RPORT"; do
    [ "$(probe "$p" /healthz)" = 200 ] && [ "$(probe "$p" /readyz)" = 200 ]
done
head -n 4 tests/data/instances/mlp20.jsonl >"$tmp/4.jsonl"
run_env "${ENV[@]}" "$X" submit --model mymodel --spec tests/data/specs/mlp20_shapley.json \
    --instances "$tmp/4.jsonl" --job-size 2 --prefix "$T" --jobs-out "$tmp/jobs"
run_env "${ENV[@]}" "$X" collect --jobs "$tmp/jobs" --out "$tmp/out" --timeout 60 2>"$tmp/collect.err" ||
    { cat "$tmp/collect.err" "$tmp/worker.log" "$tmp/runner.log"; exit 1; }
[ "$(grep -c '"attributions"' "$tmp/out")" -eq 4 ]
# every worker log line is JSON (log.format from the ConfigMap)
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/worker.log"
start=$SECONDS
kill -TERM "${pid[worker]}"
wait "${pid[worker]}"
[ $((SECONDS - start)) -lt "$WORKER_GRACE_S" ]
kill -TERM "${pid[runner]}"; wait "${pid[runner]}" || true
echo "C: the topics Job, the worker and runner Deployments ran as given; probes 200; 4 results"

# D: the worker unit's ExecStart with its environment file, where the test cluster differs
# (addresses, no SASL_SSL, a free metrics port); /healthz answers, SIGTERM stops it in time
UPORT="$(free_port)"
uenv=()
for kv in "${UNIT_ENV[@]}"; do
    case "$kv" in
    EXPLAINQ_KAFKA_*|EXPLAINQ_REDIS_PASSWORD=*) ;;
    EXPLAINQ_BOOTSTRAP_SERVERS=*) uenv+=("EXPLAINQ_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP") ;;
    EXPLAINQ_REDIS_URL=*) uenv+=("EXPLAINQ_REDIS_URL=$REDIS_URL") ;;
    EXPLAINQ_GROUP_ID=*) uenv+=("$kv.$T") ;;
    *) uenv+=("$kv") ;;
    esac
done
cmd=()
for w in "${WU[@]}"; do cmd+=("${w/metrics.port=*/metrics.port=$UPORT}"); done
env -i PATH="$PATH" "${uenv[@]}" EXPLAINQ_TOPIC_JOBS="explain.jobs.$T" \
    EXPLAINQ_TOPIC_REPLIES="explain.replies.$T" "${cmd[@]}" 2>"$tmp/unit.log" &
pid[unit]=$!
for _ in $(seq 1 100); do [ "$(probe "$UPORT" /healthz)" = 200 ] && break; sleep 0.1; done
[ "$(probe "$UPORT" /healthz)" = 200 ]
grep -q "\"worker_id\":\"$(hostname)-worker-1\"" "$tmp/unit.log"
start=$SECONDS
kill -TERM "${pid[unit]}"
wait "${pid[unit]}"
[ $((SECONDS - start)) -lt 30 ]
echo "D: the worker unit's command line ran; /healthz 200; SIGTERM stopped it"
