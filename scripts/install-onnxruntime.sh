#!/usr/bin/env bash
# Install onnxruntime's shared library where freqtag looks for it first
# (`--backend auto` then runs on onnxruntime; `--backend ort` needs it).
#
#     scripts/install-onnxruntime.sh          # a 28 MB wheel, 78 MB on disk, seconds
#
# The library comes from the onnxruntime wheel on PyPI (it ships
# onnxruntime/capi/libonnxruntime.so.<version>); only the wheel itself is
# installed (--no-deps), into $FREQTAG_ORT_DIR (default
# ~/.local/share/freqtag/onnxruntime). Needs python3 with pip. Idempotent.
set -euo pipefail
version=${FREQTAG_ORT_VERSION:-1.32.0}
dir=${FREQTAG_ORT_DIR:-$HOME/.local/share/freqtag/onnxruntime}
lib=$(ls "$dir"/onnxruntime/capi/libonnxruntime.so* 2>/dev/null | sort | tail -n 1 || true)
if [[ -n "$lib" && -f "$dir/.version-$version" ]]; then
  echo "onnxruntime $version already installed: $lib"
  exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" "onnxruntime==$version"
# swap in atomically: a half-finished install never replaces a working one
rm -rf "$dir/onnxruntime.old"
[[ -d "$dir/onnxruntime" ]] && mv "$dir/onnxruntime" "$dir/onnxruntime.old"
mv "$tmp/onnxruntime" "$dir/onnxruntime"
rm -rf "$dir/onnxruntime.old" "$dir"/.version-*
touch "$dir/.version-$version"
lib=$(ls "$dir"/onnxruntime/capi/libonnxruntime.so* | sort | tail -n 1)
echo "onnxruntime $version installed: $lib"
