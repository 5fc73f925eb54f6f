#!/usr/bin/env bash
# ort-fetch.sh -- installs ONNX Runtime's C library and headers into .deps/onnxruntime/
# (git ignores it); a no-op when the pinned version is there.
#
# Debian 12 has no onnxruntime package. The shared library comes from the
# onnxruntime wheel on PyPI (a manylinux build that runs on Debian 12 and
# exports OrtGetApiBase); the C API headers from Debian 13's libonnxruntime-dev
# (only unpacked, its dependencies are not installed). The headers declare
# ORT_API_VERSION 21, which the 1.21 library implements.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DEST="$ROOT/.deps/onnxruntime"

ORT_VERSION=1.21.1
WHEEL=onnxruntime-$ORT_VERSION-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
WHEEL_SHA256=982dcc04a6688e1af9e3da1d4ef2bdeb11417cf3f8dde81f8f721043c1919a4f
DEB_VERSION=1.21.0+dfsg-1
DEB_URL="http://deb.debian.org/debian/pool/main/o/onnxruntime/libonnxruntime-dev_${DEB_VERSION/+/%2B}_amd64.deb"
DEB_SHA256=14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$ORT_VERSION $DEB_VERSION" ] &&
    [ -e "$DEST/lib/libonnxruntime.so.1" ]; then
    exit 0
fi
echo "deps: onnxruntime $ORT_VERSION (PyPI wheel) + headers $DEB_VERSION (Debian 13)" >&2
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# pip from a throwaway venv: Debian's python3 has none of its own
/usr/bin/python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_27_x86_64 --python-version 3.11 \
    -d "$TMP" "onnxruntime==$ORT_VERSION" >&2
echo "$WHEEL_SHA256  $TMP/$WHEEL" | sha256sum -c --quiet -
curl -fsSL --retry 3 -o "$TMP/dev.deb" "$DEB_URL"
echo "$DEB_SHA256  $TMP/dev.deb" | sha256sum -c --quiet -

mkdir -p "$TMP/out/lib" "$TMP/out/include"
/usr/bin/python3 - "$TMP/$WHEEL" "$TMP/out/lib" "$ORT_VERSION" <<'PY'
import sys, zipfile
whl, out, ver = sys.argv[1:]
name = "libonnxruntime.so." + ver
with zipfile.ZipFile(whl) as z, open(out + "/" + name, "wb") as f:
    f.write(z.read("onnxruntime/capi/" + name))
PY
# the library's soname is libonnxruntime.so.1; the linker looks for libonnxruntime.so
ln -s "libonnxruntime.so.$ORT_VERSION" "$TMP/out/lib/libonnxruntime.so.1"
ln -s "libonnxruntime.so.$ORT_VERSION" "$TMP/out/lib/libonnxruntime.so"
dpkg-deb -x "$TMP/dev.deb" "$TMP/deb"
cp "$TMP/deb/usr/include/onnxruntime/onnxruntime_c_api.h" "$TMP/out/include/"
cp "$TMP/deb/usr/share/doc/libonnxruntime-dev/copyright" "$TMP/out/COPYRIGHT.debian"
echo "$ORT_VERSION $DEB_VERSION" >"$TMP/out/VERSION"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP/out" "$DEST"
