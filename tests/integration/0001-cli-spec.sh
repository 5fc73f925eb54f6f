#!/usr/bin/env bash
# 0001-cli-spec: `explainq spec validate|id` on files and stdin, JSON and msgpack, exit codes.
set -euo pipefail
X="$EXPLAINQ"
D=tests/data/specs
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# every shipped valid spec validates, and its normalized form has the same id
for f in "$D"/shapley_tabular.json "$D"/ig_smoothgrad.json "$D"/xrai_blur.json "$D"/examples_presets.json; do
    "$X" spec validate "$f" >"$tmp/norm.json"
    [ "$("$X" spec id "$f")" = "$("$X" spec id "$tmp/norm.json")" ]
    [ "$("$X" spec id - <"$f")" = "$("$X" spec id "$f")" ]
done

# the id is 64 hex digits
"$X" spec id "$D/shapley_tabular.json" | grep -Eqx '[0-9a-f]{64}'

# an invalid spec: exit 2, every error on its own line as path: message
set +e
"$X" spec validate "$D/invalid_many.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" -eq 2 ]
[ ! -s "$tmp/out" ]
grep -qx 'parameters: union method holds sampledShapleyAttribution and integratedGradientsAttribution; only one may be set' "$tmp/err"
grep -qx 'parameters.sampledShapleyAttribution.pathCount: 0 is outside \[1, 50\]' "$tmp/err"
grep -qx 'parameters.integratedGradientsAttribution.stepCount: 500 is outside \[1, 100\]' "$tmp/err"
grep -qx 'metadata.inputs.words.indexFeatureMapping: is required (non-empty) when encoding is BAG_OF_FEATURES' "$tmp/err"
grep -qx 'metadata.outputs: has 2 keys; exactly one output must be described' "$tmp/err"
[ "$(wc -l <"$tmp/err")" -eq 6 ]

# spec id of an invalid spec also exits 2; a missing file and bad usage too
set +e
"$X" spec id "$D/invalid_many.json" >/dev/null 2>&1; [ $? -eq 2 ] || exit 1
"$X" spec validate /nonexistent.json 2>"$tmp/err"; [ $? -eq 2 ] || exit 1
grep -q 'cannot read /nonexistent.json' "$tmp/err" || exit 1
"$X" spec frobnicate x >/dev/null 2>&1; [ $? -eq 2 ] || exit 1
"$X" nosuchcommand >/dev/null 2>&1; [ $? -eq 2 ] || exit 1
echo '{"parameters": ' | "$X" spec validate - 2>"$tmp/err"; [ $? -eq 2 ] || exit 1
grep -q 'invalid JSON at line' "$tmp/err" || exit 1
set -e

# help texts describe the commands
"$X" --help | grep -q 'spec validate FILE'
"$X" spec --help | grep -q 'prints the normalized spec'
"$X" --version | grep -q '^explainq '
echo "cli: spec validate/id behave"
