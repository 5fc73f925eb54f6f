#!/usr/bin/env bash
# deps.sh -- installs what explainq needs on Debian 12 and is a no-op when all
# is there: the C toolchain and libraries (apt), redis-server, a JDK and Maven
# for the test broker, and the Apache Kafka broker's jars (Maven Central).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PKGS=(build-essential pkg-config git
      librdkafka-dev libmsgpack-dev libhiredis-dev libjansson-dev libssl-dev
      libonnx-dev protobuf-c-compiler libprotobuf-c-dev libopenblas-dev libxgboost-dev
      libcurl4-openssl-dev libfaiss-dev libdouble-conversion-dev libpng-dev libjpeg62-turbo-dev libmicrohttpd-dev
      check libsubunit-dev
      redis-server redis-tools python3 python3-venv curl bc
      default-jre-headless maven
      clang clang-format libclang-rt-14-dev)
# the Python package's runners, client and tests (worker/python); the demo does without them
[ -n "${XQ_DEPS_NO_PYTHON:-}" ] ||
    PKGS+=(python3-venv python3-numpy python3-torch python3-pandas python3-sklearn python3-matplotlib)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# a JDK or Maven installed outside apt (as on some CI images) is good enough
if [ ${#missing[@]} -gt 0 ]; then
    filtered=()
    for p in "${missing[@]}"; do
        case "$p" in
        default-jre-headless) command -v java >/dev/null && continue ;;
        maven) command -v mvn >/dev/null && continue ;;
        esac
        filtered+=("$p")
    done
    missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # a fresh machine has no package lists yet
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
fi

# ONNX Runtime's library (PyPI wheel) and C header (Debian 13), pinned, into .deps/
"$HERE/ort-fetch.sh"

# the broker's jars are for the tests; the demo runs on the in-process dev broker
[ -n "${XQ_DEPS_NO_KAFKA:-}" ] || "$HERE/local/kafka-fetch.sh"

# the Python package (worker/python) and its tests: a venv over Debian's torch, numpy, pandas
# and scikit-learn, plus pinned PyPI packages; redone only when the pins change
[ -n "${XQ_DEPS_NO_PYTHON:-}" ] || "$HERE/python-venv.sh"
# the gateway's integration test drives it with Google's own Python SDK, pinned, in .venv-vertex/
REQ="$HERE/../tests/integration/requirements.txt"
VENV="$HERE/../.venv-vertex" # its own: the SDK pins a newer protobuf than onnxruntime
if [ -z "${XQ_DEPS_NO_VENV:-}" ] && ! cmp -s "$REQ" "$VENV/requirements.installed" 2>/dev/null; then
    echo "deps: installing the Python test packages into .venv-vertex (google-cloud-aiplatform)" >&2
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2
    cp "$REQ" "$VENV/requirements.installed"
fi

for m in rdkafka hiredis msgpack jansson libcrypto libprotobuf-c openblas xgboost libcurl check; do
    printf 'deps: %-10s %s\n' "$m" "$(pkg-config --modversion "$m")"
done
printf 'deps: %-10s %s\n' redis "$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
printf 'deps: %-10s %s\n' onnxruntime "$(cat "$HERE/../.deps/onnxruntime/VERSION")"
printf 'deps: %-10s %s\n' java "$(java -version 2>&1 | head -n1)"
[ -n "${XQ_DEPS_NO_PYTHON:-}" ] ||
    printf 'deps: %-10s %s\n' python "$("$HERE/../.venv/bin/python" -c 'import torch, captum, onnxruntime, confluent_kafka; print("torch", torch.__version__, "captum", captum.__version__, "onnxruntime", onnxruntime.__version__, "confluent-kafka", confluent_kafka.version()[0])')"
printf 'deps: %-10s %s\n' kafka "$(ls "$HERE/../.kafka" 2>/dev/null | sed 's/libs-//' | tr '\n' ' ')"
