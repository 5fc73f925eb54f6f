#!/usr/bin/env bash
# python-venv.sh -- .venv for worker/python: Debian 12's python3 with its system packages
# (python3-torch 1.13, numpy, pandas, scikit-learn, matplotlib: installed by deps.sh), the pinned
# PyPI packages of worker/python/requirements.txt and tests/requirements.txt (the integration
# tests' own), and the explainq package itself (editable).
# A no-op when the venv was made from the same pins.
set -euo pipefail
TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$TOP/.venv"
REQS=("$TOP/worker/python/requirements.txt" "$TOP/tests/requirements.txt")
STAMP="$VENV/.explainq-requirements"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && cat "${REQS[@]}" | cmp -s - "$STAMP" &&
    "$VENV/bin/python" -c "import explainq" 2>/dev/null; then
    exit 0
fi
echo "deps: creating $VENV (pip install -r worker/python/requirements.txt -r tests/requirements.txt)" >&2
/usr/bin/python3 -m venv --system-site-packages "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "${REQS[0]}" -r "${REQS[1]}" >&2 # wheel: for the -e build
"$VENV/bin/pip" install -q --disable-pip-version-check --no-build-isolation --no-deps \
    -e "$TOP/worker/python" >&2
cat "${REQS[@]}" >"$STAMP"
