#!/usr/bin/env bash
# Side-by-side benchmark: freqtag (tract, and onnxruntime when built with the
# `ort` feature) against the Python way (PyTorch forward hooks; onnxruntime
# with the taps as graph outputs; NumPy FFT), on
#   1. the paper's experiment: EfficientNet-Lite0, 224x224, halves at
#      6 / 7.5 Hz, 120 frames/s, 240 frames, all 82 conv and activation taps,
#      spectra + scores, over 12 images (the 10 shipped photos + a mirror + a crop);
#   2. a sweep of 50 points: 5 images x 5 frequency pairs x 2 depths.
# Each run is timed by /usr/bin/time -v (wall, peak RSS); the load average is
# recorded before each run. See bench/README.md.
#
# usage: bench/run.sh [WORK_DIR]          (default /tmp/freqtag-bench)
# env:   PYTHON   python with torch, onnxruntime, onnx, numpy, pillow and the
#                 efficientnet packages (default /work/exportenv/bin/python)
#        ONLY     space-separated subset of: ft-tract ft-ort py-ort py-torch
#        WORKLOADS  space-separated subset of: paper sweep
#        TORCH_SWEEP_IMAGES  images of the sweep for PyTorch (default 5: all 50
#                 points; 1 runs 10 points, for a machine where 50 take too long)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/freqtag-bench}
PY=${PYTHON:-/work/exportenv/bin/python}
ONLY=${ONLY:-ft-tract ft-ort py-ort py-torch}
WORKLOADS=${WORKLOADS:-paper sweep}
mkdir -p "$WORK"
cd "$REPO"

# onnxruntime's shared library from the Python wheel (for freqtag --backend ort)
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  ORT_DYLIB_PATH=$("$PY" -c "import onnxruntime, pathlib; print(next(pathlib.Path(onnxruntime.__file__).parent.glob('capi/libonnxruntime.so*')))" 2>/dev/null || true)
fi
export ORT_DYLIB_PATH
FEATURES=()
if [ -n "$ORT_DYLIB_PATH" ]; then FEATURES=(--features ort); else ONLY=${ONLY//ft-ort/}; fi
cargo build --release --quiet "${FEATURES[@]}"
FT="$REPO/target/release/freqtag"

"$PY" bench/make_images.py "$WORK/images" >/dev/null
mkdir -p "$WORK/images-sweep"
for f in astronaut chelsea coffee motorcycle_left rocket; do cp "$WORK/images/$f.png" "$WORK/images-sweep/"; done

# the two workloads as freqtag sweep files
sweep_file() { # name images-folder freqs depths
  cat > "$WORK/$1.toml" <<TOML
models = ["$REPO/data/models/efficientnet_lite0.onnx"]
images = ["$2"]
taps   = ["default"]
tables = ["scores", "spectra-npy"]   # what the Python references write: unit scores and all spectra
[grid]
parts = ["left-right"]
freqs = $3
depth = $4
TOML
}
sweep_file paper "$WORK/images" "[[6.0, 7.5]]" "[0.25]"
sweep_file sweep "$WORK/images-sweep" "[[6.0, 7.5], [7.5, 6.0], [5.0, 8.0], [4.5, 6.0], [3.0, 4.5]]" "[0.25, 0.125]"

measure() { # name command...
  local name=$1; shift
  rm -rf "$WORK/out-$name"
  cut -d' ' -f1-3 /proc/loadavg > "$WORK/$name.load"
  echo "== $name (load $(cat "$WORK/$name.load"))" >&2
  /usr/bin/time -v "$@" > "$WORK/$name.stdout" 2> "$WORK/$name.time" || { tail -5 "$WORK/$name.time" >&2; return 1; }
  cut -d' ' -f1-3 /proc/loadavg > "$WORK/$name.load-after"
  # keep the markers and tables, drop the spectra arrays (about 40 MB per point)
  rm -rf "$WORK/out-$name/spectra-npy" "$WORK/out-$name"/point*
}

for w in $WORKLOADS; do
  imgs=$WORK/images; [ "$w" = sweep ] && imgs=$WORK/images-sweep
  for e in $ONLY; do
    case $e in
      ft-tract) measure "$w-ft-tract" "$FT" sweep "$WORK/$w.toml" --out "$WORK/out-$w-ft-tract" --quiet ;;
      ft-ort)   measure "$w-ft-ort" "$FT" sweep "$WORK/$w.toml" --out "$WORK/out-$w-ft-ort" --backend ort --quiet ;;
      py-ort)   measure "$w-py-ort" "$PY" bench/reference.py --engine ort --workload "$w" --images "$imgs" --out "$WORK/out-$w-py-ort" ;;
      py-torch)
        limit=0; [ "$w" = sweep ] && limit=${TORCH_SWEEP_IMAGES:-5}
        measure "$w-py-torch" "$PY" bench/reference.py --engine torch --workload "$w" --images "$imgs" --limit "$limit" --out "$WORK/out-$w-py-torch" ;;
    esac
  done
done

"$PY" bench/report.py "$WORK" | tee "$WORK/results.md"
