#!/usr/bin/env bash
# 0002-services: specs through the real Redis and the real Kafka broker (test_services.c).
set -euo pipefail
exec "$BUILD/test_services"
