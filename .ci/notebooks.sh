#!/usr/bin/env bash
# CI: set up the evcxr Jupyter kernel and execute every notebook in notebooks/
# headlessly (jupyter nbconvert --execute), failing on any cell error.
#
# Installs and builds are kept outside the clone and reused by later runs on
# the same machine; a fresh machine builds them (see the times below):
#   ~/.local/share/freqtag/jupyter   Python venv with nbconvert     (~30 s cold)
#   ~/.cargo/bin/evcxr_jupyter       cargo install, 0.22.0           (~9-10 min cold)
#   ~/.cache/freqtag/evcxr           the kernel's build of freqtag, tract, Polars
#                                    (~20+ min cold; warm: freqtag only)
#   ~/.cache/evcxr                   evcxr's own build cache (:cache in the notebooks)
# The kernel's build cannot share `cargo build`'s target folder: evcxr compiles
# every crate as a dylib with -C prefer-dynamic, its own [profile.dev] and an
# explicit --target, so none of cargo's artifacts match (scripts/render-notebooks.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
start=$(date +%s)

echo "== notebooks: kernel set-up (scripts/setup-notebooks.sh --headless)"
bash scripts/setup-notebooks.sh --headless

echo "== notebooks: execute every notebook (scripts/render-notebooks.sh)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash scripts/render-notebooks.sh --out "$out/reports"
for nb in notebooks/*.ipynb; do
  test -s "$out/reports/$(basename "$nb" .ipynb).html"
done

echo "== notebooks finished in $(( $(date +%s) - start )) s"
