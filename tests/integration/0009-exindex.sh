#!/usr/bin/env bash
# 0009-exindex: example indexes stored in the real Redis, chunked, read back by a new client.
set -euo pipefail
"$BUILD/test_exindex"
