#!/usr/bin/env bash
# 0012-httpd: the HTTP server the gateway and metrics use, on loopback, driven by libcurl.
set -euo pipefail
"$BUILD/test_httpd"
