#!/usr/bin/env bash
# CI: set up the evcxr Jupyter kernel and execute every notebook in notebooks/
# headlessly (jupyter nbconvert --execute), failing on any cell error; then
# check that the stored notebooks (committed with their outputs) are current:
# same cells, same kinds of outputs as this execution (scripts/check-notebooks.py;
# `scripts/render-notebooks.sh --store` regenerates them).
#
# Installs and builds are kept outside the clone and reused by later runs on
# the same machine:
#   ~/.local/share/freqtag/jupyter   Python venv with nbconvert     (~30 s cold)
#   ~/.cargo/bin/evcxr_jupyter       cargo install, 0.22.0           (5-9 min cold on 2 cores)
#   $EVCXR_TMPDIR (~/.cache/freqtag/evcxr)  the kernel's crate folder
#   ~/.cache/evcxr                   evcxr's own compiler cache (:cache in the notebooks)
# Called from .ci/run with FREQTAG_KERNEL_TARGET_DIR set to .ci/run's target
# folder, which was built with the kernel's settings: the kernel then compiles
# only freqtag instead of tract, Polars and the rest a second time. Run alone,
# the kernel builds its dependencies itself (13-25 min cold on 2 cores, README).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
start=$(date +%s)

echo "== notebooks: kernel set-up (scripts/setup-notebooks.sh --headless)"
bash scripts/setup-notebooks.sh --headless

echo "== notebooks: execute every notebook (scripts/render-notebooks.sh)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash scripts/render-notebooks.sh --out "$out/reports" --keep-ipynb "$out/executed"
for nb in notebooks/*.ipynb; do
  test -s "$out/reports/$(basename "$nb" .ipynb).html"
done

echo "== notebooks: the stored notebooks are current (scripts/check-notebooks.py)"
python3 scripts/check-notebooks.py "$out/executed"

echo "== notebooks finished in $(( $(date +%s) - start )) s"
