#!/usr/bin/env bash
# 0018-compact-ig: Integrated Gradients (mlp20, 50 steps, no noise) over 1,000 instances through
# a real broker, with compact requests version 2 (gradient rows as path records: alphas over the
# instance and its baseline, docs/protocol.md):
#   A. a worker sending compact requests to `explainq runner` (the ONNX interpreter),
#   B. a worker sending full rows (-X compact.requests=0) to another runner of the same model,
#   C. `explainq explain` in-process,
# give the same JSON text (the interpreter's results do not depend on batching), and A's requests
# really went compact: its request bytes per instance are under a quarter of B's.
# The Python runner's path records are tested in 0160 (IG through the torch runner: onnxruntime's
# runner gives no gradients) and its pytest.
set -euo pipefail
X="$EXPLAINQ"
T="k$$"
B="$KAFKA_BOOTSTRAP"
SPEC=tests/data/specs/mlp20_ig.json
MODEL=tests/data/onnx/mlp20.onnx
tmp="$(mktemp -d)"
. "$(dirname "${BASH_SOURCE[0]}")/workers_lib.sh"
# bytes of every message on topic $1 (its messages and bytes)
topic_bytes() { "$BUILD/test_kafkatool" bytes "$1" 2; }

"$X" topics create -b "$B" --partitions 2 "explain.infer.igc$T" "explain.infer.igf$T" >/dev/null
"$X" runner --model "$MODEL" --name "igc$T" -b "$B" >"$tmp/runner_c.log" 2>&1 &
pids+=($!)
"$X" runner --model "$MODEL" --name "igf$T" -b "$B" >"$tmp/runner_f.log" 2>&1 &
pids+=($!)
start_worker compact
start_worker full -X compact.requests=0

for i in $(seq 1 10); do cat tests/data/instances/mlp20.jsonl; done >"$tmp/in1000.jsonl"
explain_via compact "igc$T" "$tmp/in1000.jsonl"
explain_via full "igf$T" "$tmp/in1000.jsonl"
"$X" explain --spec "$SPEC" --model "$MODEL" --instances "$tmp/in1000.jsonl" >"$tmp/ref.out"
[ "$(wc -l <"$tmp/ref.out")" -eq 1000 ] || fail "explain gave $(wc -l <"$tmp/ref.out") lines"
grep -q '"featureAttributions"' "$tmp/ref.out" || fail "no attributions in the reference"
for n in compact full; do
    cmp "$tmp/ref.out" "$tmp/$n.out" || fail "$n: the results differ from explain"
done
grep -q "model igc$T: .*compact requests v2" "$tmp/compact.log" || fail "A: no compact requests v2"
if grep -q "compact requests" "$tmp/full.log"; then fail "B: compact.requests=0 was not obeyed"; fi
echo "A-C: 1,000 IG explanations equal as JSON text: compact requests, full rows, explain"

read -r cn cb < <(topic_bytes "explain.infer.igc$T")
read -r fn fb < <(topic_bytes "explain.infer.igf$T")
read -r _ crb < <(topic_bytes "explainq_test_${T}_compact_replies")
read -r _ frb < <(topic_bytes "explainq_test_${T}_full_replies")
echo "requests: compact $cn messages, $((cb / 1000)) B/instance; full $fn messages, $((fb / 1000)) B/instance"
echo "replies: compact $((crb / 1000)) B/instance; full $((frb / 1000)) B/instance"
# a full IG instance sends 52 rows of 80 bytes (4,160 B); compact: 2 of them, 50 alphas of 8 bytes
[ "$fb" -gt $((1000 * 52 * 80)) ] || fail "B: full requests hold only $fb bytes"
[ "$((cb * 4))" -lt "$fb" ] || fail "A: compact requests ($cb bytes) are not under a quarter of full ($fb)"

echo "compact-ig: all parts passed"
