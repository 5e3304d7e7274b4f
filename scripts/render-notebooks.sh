#!/usr/bin/env bash
# Execute freqtag's notebooks top to bottom and export each as a
# self-contained HTML page (figures and tables embedded) for colleagues who do
# not run Rust. Fails (exit 1) when any cell of any notebook fails.
#
#   scripts/render-notebooks.sh [--out DIR] [--store] [--keep-ipynb DIR] [NOTEBOOK.ipynb ...]
#
# Default: every notebooks/*.ipynb into reports/ (of the repository; paths given
# are relative to the current folder). Run scripts/setup-notebooks.sh
# first. Each notebook also prints its run time and when its first figure
# appeared.
#   --store           also write each executed notebook back in place of its
#                     source (notebooks/ is committed with its outputs), when
#                     every cell of it succeeded: volatile metadata dropped,
#                     execution counts 1, 2, ..., images as the library made them
#                     (scripts/store-notebook.py); prints each size and the total.
#                     `scripts/render-notebooks.sh --store` regenerates them all.
#   --keep-ipynb DIR  keep the executed notebooks, as executed, in DIR (CI
#                     compares them with the stored ones: scripts/check-notebooks.py)
#
# The kernel compiles freqtag and its dependencies (tract, Polars) itself, as
# shared libraries, with evcxr's settings. Its build is kept between runs,
# outside the clone:
#   EVCXR_TMPDIR  (default ~/.cache/freqtag/evcxr): the kernel's crate folder,
#                 used by every notebook of this run, one run at a time; seeded
#                 with this repository's Cargo.lock so the kernel builds the
#                 same dependency versions as `cargo build`;
#   FREQTAG_KERNEL_TARGET_DIR  (default ~/.cache/freqtag/target): its target/,
#                 the build folder scripts/setup-notebooks.sh fills, .ci/run and
#                 bench/run.sh build in and every kernel Jupyter starts builds in
#                 (scripts/notebook-kernel.sh): built with the kernel's settings,
#                 so tract and Polars are compiled once for all of them.
# A cold build of the dependencies takes about a quarter of an hour on 2 cores
# (README, "Time to the first plot"), a warm one only recompiles freqtag itself.
set -euo pipefail
caller=$(pwd)
cd "$(dirname "$0")/.."
root=$(pwd)
# paths on the command line are the caller's, relative to where it was run from
from_caller() { if [[ $1 == /* ]]; then echo "$1"; else echo "$caller/$1"; fi; }

out="$root/reports"
store=0
keep=""
notebooks=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out|--keep-ipynb)
      [[ $# -ge 2 && -n "$2" ]] || { echo "render-notebooks: $1 needs a folder" >&2; exit 2; }
      if [[ $1 == --out ]]; then out=$(from_caller "$2"); else keep=$(from_caller "$2"); fi
      shift 2 ;;
    --store) store=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    -*) echo "render-notebooks: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) nb=$(from_caller "$1")
       [[ -f "$nb" ]] || { echo "render-notebooks: no notebook '$1'" >&2; exit 2; }
       notebooks+=("$nb"); shift ;;
  esac
done
[[ ${#notebooks[@]} -gt 0 ]] || notebooks=(notebooks/*.ipynb)

# Jupyter: the active conda environment, else the venv of setup-notebooks.sh, else PATH.
venv="${FREQTAG_JUPYTER_VENV:-$HOME/.local/share/freqtag/jupyter}"
if [[ -n "${CONDA_PREFIX:-}" && -x "$CONDA_PREFIX/bin/jupyter-nbconvert" ]]; then
  bindir="$CONDA_PREFIX/bin"
elif [[ -x "$venv/bin/jupyter-nbconvert" ]]; then
  bindir="$venv/bin"
elif command -v jupyter-nbconvert >/dev/null; then
  bindir=$(dirname "$(command -v jupyter-nbconvert)")
else
  echo "render-notebooks: Jupyter not found; run scripts/setup-notebooks.sh first" >&2
  exit 1
fi
if [[ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/evcxr_jupyter" ]]; then
  echo "render-notebooks: evcxr_jupyter (the Rust kernel) is not installed; run scripts/setup-notebooks.sh first" >&2
  exit 1
fi

export EVCXR_TMPDIR="${EVCXR_TMPDIR:-$HOME/.cache/freqtag/evcxr}"
# evcxr links each cell against the shared libstd with a *relative* runpath
# computed for target/<triple>/debug/deps but loads the cell from one folder
# up; that only resolves when the relative path climbs to / (as from /tmp). For
# a build folder under the same home as rustup, name libstd's folder outright.
sysroot_lib="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/lib"
export LD_LIBRARY_PATH="$sysroot_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p "$EVCXR_TMPDIR" "$out"
[[ -z "$keep" ]] || mkdir -p "$keep"
cp Cargo.lock "$EVCXR_TMPDIR/Cargo.lock"
# the shared build folder, built with the kernel's settings (as .ci/run and
# scripts/setup-notebooks.sh build it): the kernel reuses its dependencies
kernel_target="${FREQTAG_KERNEL_TARGET_DIR:-$HOME/.cache/freqtag/target}"
mkdir -p "$kernel_target"
[[ -L "$EVCXR_TMPDIR/target" ]] || rm -rf "$EVCXR_TMPDIR/target"
ln -sfn "$kernel_target" "$EVCXR_TMPDIR/target"
# One run at a time: the kernels of two runs would overwrite each other's crate.
exec 9>"$EVCXR_TMPDIR/.render.lock"
if ! flock -n 9; then
  echo "render-notebooks: another run holds $EVCXR_TMPDIR; waiting" >&2
  flock 9
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# This clone's kernel spec, first on Jupyter's search path: the installed one
# names the launcher of whichever clone last ran scripts/setup-notebooks.sh.
bash scripts/notebook-kernel.sh --spec "$work/jupyter/kernels/rust"
export JUPYTER_PATH="$work/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
failed=()
stored_bytes=0
total_start=$(date +%s)
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb" .ipynb)
  echo "== $name"
  start=$(date +%s)
  # Execute with the notebook's folder as working directory (no cell may take
  # longer than an hour; a kernel may take 10 minutes to start on a busy machine). Errors are kept in the notebook so that the report
  # shows where it broke; the check below fails the run on any of them.
  if "$bindir/jupyter" nbconvert --to notebook --execute --allow-errors \
      --ExecutePreprocessor.timeout=3600 --ExecutePreprocessor.startup_timeout=600 \
      --ExecutePreprocessor.kernel_name=rust \
      --output-dir "$work" --output "$name" "$nb" >"$work/$name.log" 2>&1; then
    [[ -z "$keep" ]] || cp "$work/$name.ipynb" "$keep/$name.ipynb"
    "$bindir/jupyter" nbconvert --to html --output-dir "$out" --output "$name" "$work/$name.ipynb" >>"$work/$name.log" 2>&1
    if "$bindir/python" - "$work/$name.ipynb" "$start" <<'EOF'
import datetime, json, re, sys
nb = json.load(open(sys.argv[1]))
t0 = float(sys.argv[2])
ansi = re.compile(r"\x1b\[[0-9;]*m")
def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
first_fig, slowest, errors = None, (0.0, None), []
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code":
        continue
    outputs = cell.get("outputs", [])
    errors += [(i, o) for o in outputs if o.get("output_type") == "error"]
    ex = cell.get("metadata", {}).get("execution", {})
    if "shell.execute_reply" not in ex:
        continue
    took = ts(ex["shell.execute_reply"]) - ts(ex["iopub.execute_input"])
    if took > slowest[0]:
        slowest = (took, i)
    def figure(data):  # a plot: an image output, or HTML holding Figures (notebook::figures)
        html = "".join(data.get("text/html", ""))
        return "image/svg+xml" in data or "image/png" in data or "<img alt=" in html
    if first_fig is None and any(figure(o.get("data", {})) for o in outputs):
        first_fig = ts(ex["shell.execute_reply"]) - t0
for i, o in errors[:3]:
    src = "".join(nb["cells"][i]["source"]).strip().splitlines()
    print(f"   cell #{i} ({src[0][:70] if src else ''} …): {o.get('ename')}: {ansi.sub('', o.get('evalue', ''))}", file=sys.stderr)
if errors:
    print(f"   {len(errors)} cell error(s)", file=sys.stderr)
    sys.exit(1)
print(f"   first figure after {first_fig:.0f} s" if first_fig is not None else "   no figure", end="")
print(f"; slowest cell: #{slowest[1]} {slowest[0]:.0f} s")
EOF
    then
      echo "   ok in $(( $(date +%s) - start )) s -> $out/$name.html"
      if [[ $store == 0 ]]; then
        continue
      fi
      if size=$("$bindir/python" scripts/store-notebook.py "$work/$name.ipynb" "$nb" | tail -1); then
        stored_bytes=$(( stored_bytes + size ))
        echo "   stored ${nb#"$root"/} ($(( (size + 512) / 1024 )) KiB)"
        continue
      fi
    fi
  else
    [[ -z "$keep" || ! -f "$work/$name.ipynb" ]] || cp "$work/$name.ipynb" "$keep/$name.ipynb"
    grep -v '^\[NbConvertApp\]' "$work/$name.log" | tail -20 >&2
  fi
  echo "   FAILED after $(( $(date +%s) - start )) s (report, if any: $out/$name.html)" >&2
  failed+=("$name")
done
echo "== notebooks executed in $(( $(date +%s) - total_start )) s"
echo "notebooks: $(( ${#notebooks[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
if [[ $store == 1 ]]; then
  echo "stored: $(( ${#notebooks[@]} - ${#failed[@]} )) notebook(s), $(( (stored_bytes + 512) / 1024 )) KiB in all"
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
