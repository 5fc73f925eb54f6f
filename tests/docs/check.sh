#!/bin/sh
# check.sh -- `make docs-check`: every function the docs name is defined in the file they
# name, and docs/configuration.md is what the binary's option tables give today.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# the check must be able to fail: a name that is not defined is caught
printf '`no_such_function()` in `worker/main.c`\n' >"$tmp/wrong.md"
if python3 tests/docs/check_tour.py "$tmp/wrong.md" >/dev/null 2>&1; then
    echo "docs-check: the tour check accepted a function that does not exist" >&2
    exit 1
fi

python3 tests/docs/check_tour.py docs/*.md CONTRIBUTING.md tests/README.md

python3 tests/docs/gen_configuration.py "$BUILD/explainq" >"$tmp/configuration.md"
if ! diff -u docs/configuration.md "$tmp/configuration.md" >"$tmp/diff"; then
    head -40 "$tmp/diff" >&2
    echo "docs-check: docs/configuration.md is out of date: run make docs and commit it" >&2
    exit 1
fi
echo "docs: docs/configuration.md is current"
