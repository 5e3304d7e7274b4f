#!/usr/bin/env bash
# Set up Jupyter and the evcxr Rust kernel for freqtag's notebooks (notebooks/).
#
#   scripts/setup-notebooks.sh              JupyterLab + nbconvert + the Rust kernel
#   scripts/setup-notebooks.sh --headless   only what executing notebooks needs (CI)
#
# Needs cargo and Python >= 3.9 with venv and pip. Idempotent: what is already
# installed at the right version is kept, so a second run takes seconds.
#
# What it installs, all outside the repository:
#   - a Python venv with Jupyter's pieces from PyPI, at $FREQTAG_JUPYTER_VENV
#     (default ~/.local/share/freqtag/jupyter); inside an activated conda
#     environment made from environment.yml, that environment is used instead;
#   - evcxr_jupyter $EVCXR_VERSION with `cargo install --locked` into ~/.cargo/bin
#     (about 9 minutes cold on 2 cores);
#   - the "rust" kernel spec (`evcxr_jupyter --install`, under ~/.local/share/jupyter).
set -euo pipefail

EVCXR_VERSION=0.22.0
# Top-level Python packages, pinned to the versions the notebooks were run with.
HEADLESS_PKGS=(nbconvert==7.17.2 nbclient==0.11.0 nbformat==5.11.1 jupyter_client==8.10.0 jupyter_core==5.9.1)
LAB_PKGS=(jupyterlab==4.6.6)

headless=0
for arg in "$@"; do
  case "$arg" in
    --headless) headless=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "setup-notebooks: unknown argument '$arg' (use --headless or --help)" >&2; exit 2 ;;
  esac
done

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
  step "cargo install evcxr_jupyter $EVCXR_VERSION (was: ${have:-none}; about 9 minutes cold on 2 cores)"
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

step "done"
if [[ $headless == 0 ]]; then
  echo
  echo "Open the notebooks with:"
  echo "  $bindir/jupyter lab notebooks/"
fi
