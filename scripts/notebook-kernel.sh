#!/usr/bin/env bash
# The Rust kernel of freqtag's notebooks: evcxr_jupyter started so that it
# builds into one shared build folder, the one scripts/setup-notebooks.sh
# fills, instead of compiling freqtag, tract and Polars again in a new folder
# for every kernel. scripts/setup-notebooks.sh installs the "rust" kernel spec
# with this script as its command; Jupyter runs it as
#
#   scripts/notebook-kernel.sh CONNECTION_FILE
#
#   scripts/notebook-kernel.sh --spec DIR
#
# writes the kernel spec that runs it, DIR/kernel.json (Jupyter's "rust"
# kernel): scripts/setup-notebooks.sh into the spec `evcxr_jupyter --install`
# made, scripts/render-notebooks.sh into a private one for its own run, so that
# a clone's notebooks execute with that clone's launcher whichever clone set
# the kernel up last.
#
# Each kernel gets a folder of its own for its crate (two notebooks open at
# once do not overwrite each other's code) whose target/ is a link to the
# shared build folder, ${FREQTAG_KERNEL_TARGET_DIR:-~/.cache/freqtag/target};
# cargo's lock on that folder serialises two kernels' builds. The folder is
# seeded with freqtag's Cargo.lock, so that the kernel resolves the crate
# versions that were built. Folders of kernels that have exited are removed
# when the next kernel starts. A caller that sets EVCXR_TMPDIR itself
# (scripts/render-notebooks.sh) keeps it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ "${1:-}" == --spec ]]; then
  dir=${2:-}
  [[ -n "$dir" ]] || { echo "usage: scripts/notebook-kernel.sh --spec DIR" >&2; exit 2; }
  mkdir -p "$dir"
  launcher="$root/scripts/notebook-kernel.sh"
  launcher=${launcher//\\/\\\\}
  launcher=${launcher//\"/\\\"}
  cat > "$dir/kernel.json.tmp" <<EOF
{
  "argv": ["bash", "$launcher", "{connection_file}"],
  "display_name": "Rust",
  "interrupt_mode": "message",
  "language": "rust"
}
EOF
  mv -f "$dir/kernel.json.tmp" "$dir/kernel.json"
  exit 0
fi

evcxr="${CARGO_HOME:-$HOME/.cargo}/bin/evcxr_jupyter"
[[ -x "$evcxr" ]] || { echo "notebook-kernel: $evcxr not found; run scripts/setup-notebooks.sh" >&2; exit 1; }
[[ $# -ge 1 ]] || { echo "usage: scripts/notebook-kernel.sh CONNECTION_FILE" >&2; exit 2; }

# evcxr links each cell against Rust's shared standard library (-Cprefer-dynamic)
host=$(rustc -vV | sed -n 's/^host: //p')
export LD_LIBRARY_PATH="$(rustc --print sysroot)/lib/rustlib/$host/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [[ -z "${EVCXR_TMPDIR:-}" ]]; then
  target="${FREQTAG_KERNEL_TARGET_DIR:-$HOME/.cache/freqtag/target}"
  kernels="$HOME/.cache/freqtag/kernels"
  mkdir -p "$target" "$kernels"
  for old in "$kernels"/*; do
    [[ -d "$old" ]] || continue
    pid=${old##*/}
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || rm -rf "$old"
  done
  # named after this process, which exec makes the kernel's
  dir="$kernels/$$"
  rm -rf "$dir"
  mkdir -p "$dir"
  ln -s "$target" "$dir/target"
  cp "$root/Cargo.lock" "$dir/Cargo.lock"
  export EVCXR_TMPDIR="$dir"
fi
exec "$evcxr" --control_file "$1"
