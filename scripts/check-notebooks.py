#!/usr/bin/env python3
"""Check that the stored notebooks (notebooks/*.ipynb, committed with their
outputs) are what executing them gives now.

    scripts/check-notebooks.py EXECUTED_DIR [STORED.ipynb ...]

EXECUTED_DIR holds freshly executed copies of the notebooks, by the same file
names (`scripts/render-notebooks.sh --keep-ipynb EXECUTED_DIR`); the stored
notebooks default to notebooks/*.ipynb of this repository. For each stored
notebook it checks:

- the same cells as the executed one, in order: cell type and source;
- for each code cell, the same kinds of outputs: the stream names (stdout,
  stderr) present, and in order the other outputs' types (display_data,
  execute_result, error) with the set of their mime types. Not the pixels, the
  numbers or the text: those may move a little between machines;
- a stored code cell has outputs when the executed one has some (a notebook
  committed without its outputs is stale);
- no stored cell shows an error or a bare `()` result.

Every problem is printed with the notebook, the cell's index and first source
line, and what differs; then the command that regenerates the stored notebooks.
Exit status 0 when all are current, 1 otherwise. Plain Python 3, no
third-party modules (CI runs it from .ci/notebooks.sh).
"""
import argparse
import glob
import json
import os
import sys

from notebook_cells import faults, first_line, text

REGENERATE = "scripts/render-notebooks.sh --store"
MAX_PER_NOTEBOOK = 8


def kinds(cell):
    """(stream names present, other outputs in order as (type, mime types))."""
    streams, rich = set(), []
    for out in cell.get("outputs", []):
        kind = out.get("output_type", "?")
        if kind == "stream":
            streams.add(out.get("name", "?"))
        elif kind in ("display_data", "execute_result"):
            rich.append((kind, tuple(sorted(out.get("data", {})))))
        else:
            rich.append((kind, ()))
    return sorted(streams), rich


def describe(sig):
    streams, rich = sig
    parts = list(streams) + [f"{k}[{', '.join(m)}]" if m else k for k, m in rich]
    return ", ".join(parts) if parts else "no output"


def check(stored_path, executed_path):
    """The problems of one stored notebook, as messages (empty: current)."""
    name = os.path.relpath(stored_path)
    try:
        with open(stored_path, encoding="utf-8") as f:
            stored = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{name}: cannot read the stored notebook: {e}"]
    if not os.path.isfile(executed_path):
        return [f"{name}: no executed copy {executed_path} to compare with "
                "(was it executed? scripts/render-notebooks.sh --keep-ipynb DIR)"]
    try:
        with open(executed_path, encoding="utf-8") as f:
            executed = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{name}: cannot read the executed copy {executed_path}: {e}"]

    problems = []

    def at(i, cell, what):
        problems.append(f"{name}, cell #{i} ({first_line(cell)}): {what}")

    s_cells, e_cells = stored.get("cells", []), executed.get("cells", [])
    # stored errors and `()` results, whatever the executed notebook says
    for i, cell in enumerate(s_cells):
        for fault in faults(cell):
            at(i, cell, f"the stored cell shows {fault}")

    # the cells themselves
    same_cells = True
    for i in range(max(len(s_cells), len(e_cells))):
        if i >= len(s_cells) or i >= len(e_cells):
            extra, where = (e_cells, "executed") if i >= len(s_cells) else (s_cells, "stored")
            at(i, extra[i], f"only in the {where} notebook ({len(s_cells)} cells stored, {len(e_cells)} executed)")
            same_cells = False
            break
        s, e = s_cells[i], e_cells[i]
        if s.get("cell_type") != e.get("cell_type"):
            at(i, s, f"cell type differs: stored {s.get('cell_type')}, executed {e.get('cell_type')}")
            same_cells = False
        elif text(s.get("source")) != text(e.get("source")):
            at(i, s, f"source differs from the executed notebook's (which starts: {first_line(e)})")
            same_cells = False

    # the outputs, cell by cell (only meaningful when the cells are the same)
    if same_cells:
        for i, (s, e) in enumerate(zip(s_cells, e_cells)):
            if s.get("cell_type") != "code":
                continue
            s_sig, e_sig = kinds(s), kinds(e)
            if s_sig == e_sig:
                continue
            if not s.get("outputs"):
                at(i, s, f"stored without outputs; executed, it shows {describe(e_sig)}")
            else:
                at(i, s, f"output kinds differ: stored {describe(s_sig)}; executed {describe(e_sig)}")

    if len(problems) > MAX_PER_NOTEBOOK:
        more = len(problems) - MAX_PER_NOTEBOOK
        problems = problems[:MAX_PER_NOTEBOOK] + [f"{name}: … and {more} more"]
    return problems


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(
        description="Check the stored notebooks against freshly executed copies.")
    parser.add_argument("executed_dir", help="folder of the executed notebooks (same file names)")
    parser.add_argument("stored", nargs="*", help="stored notebooks (default: notebooks/*.ipynb)")
    args = parser.parse_args()
    if not os.path.isdir(args.executed_dir):
        parser.error(f"no folder {args.executed_dir}")
    stored = args.stored or sorted(glob.glob(os.path.join(root, "notebooks", "*.ipynb")))
    if not stored:
        parser.error("no stored notebooks to check")

    stale = 0
    for path in stored:
        problems = check(path, os.path.join(args.executed_dir, os.path.basename(path)))
        if problems:
            stale += 1
            for p in problems:
                print(p, file=sys.stderr)
    if stale:
        print(f"check-notebooks: {stale} of {len(stored)} stored notebook(s) differ from their execution; "
              f"regenerate them with: {REGENERATE}", file=sys.stderr)
        return 1
    print(f"check-notebooks: {len(stored)} stored notebook(s) match their execution "
          "(cells, and the kinds of outputs of each code cell)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
