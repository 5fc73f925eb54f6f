#!/usr/bin/env bash
# kafka-fetch.sh -- resolves the Apache Kafka broker's jars from Maven Central
# into .kafka/libs-<version> (once; a no-op when they are there).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/../.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_LIBS="${KAFKA_LIBS:-$TOP/.kafka/libs-$KAFKA_VERSION}"

if ls "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null 2>&1; then
    exit 0
fi
command -v mvn >/dev/null || { echo "kafka-fetch: mvn is missing (make deps installs maven)" >&2; exit 1; }
echo "kafka-fetch: resolving kafka_2.13:$KAFKA_VERSION into $KAFKA_LIBS" >&2
tmp="$KAFKA_LIBS.tmp.$$"
rm -rf "$tmp"
mvn -B -q -f "$HERE/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >&2
# rename last, so an interrupted fetch never looks complete
mv "$tmp" "$KAFKA_LIBS"
echo "kafka-fetch: $(ls "$KAFKA_LIBS" | wc -l) jars" >&2
