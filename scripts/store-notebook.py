#!/usr/bin/env python3
"""Store an executed notebook in place of its source, lightly and stably.

    scripts/store-notebook.py EXECUTED.ipynb STORED.ipynb

Called by `scripts/render-notebooks.sh --store` for each notebook whose cells
all succeeded; not meant to be run by hand. EXECUTED is what `jupyter nbconvert
--execute` wrote from STORED; STORED is replaced (temporary file in the same
folder, then rename) by EXECUTED with:

- the top-level metadata of STORED (kernelspec, language_info as committed;
  nothing from the kernel run),
- per-cell `metadata.execution` (timestamps) dropped,
- execution counts renumbered 1, 2, ... over the executed code cells (the
  counts of execute_result outputs follow their cell's),
- consecutive stream outputs of the same name merged, ANSI escapes removed
  from stream text,
- images and every other output kept byte for byte as the kernel sent them.

Refuses (exit 1, STORED untouched) when a cell has an error output or a bare
`()` result, or when STORED's cells changed while it was being executed (an
edit in Jupyter would otherwise be overwritten). Prints STORED's size in bytes
as its last line. Plain Python 3, no third-party modules.
"""
import json
import os
import re
import sys
import tempfile

from notebook_cells import faults, first_line, text

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def lines(value):
    # nbformat's on-disk form for multi-line strings: a list of lines
    return value.splitlines(True)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: store-notebook.py EXECUTED.ipynb STORED.ipynb")
    executed_path, stored_path = sys.argv[1], sys.argv[2]
    with open(executed_path, encoding="utf-8") as f:
        nb = json.load(f)
    with open(stored_path, encoding="utf-8") as f:
        current = json.load(f)
    name = os.path.basename(stored_path)

    def cells(n):
        return [(c["cell_type"], text(c.get("source", ""))) for c in n["cells"]]

    if cells(nb) != cells(current):
        sys.exit(f"store-notebook: {name} changed while it was being executed; not stored "
                 "(run scripts/render-notebooks.sh --store again)")

    problems = []
    count = 0
    for i, cell in enumerate(nb["cells"]):
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] != "code":
            continue
        problems += [f"cell #{i} ({first_line(cell)}): shows {fault}" for fault in faults(cell)]
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                clean = ANSI.sub("", text(out.get("text", "")))
                if outputs and outputs[-1].get("output_type") == "stream" and outputs[-1].get("name") == out.get("name"):
                    clean = text(outputs[-1]["text"]) + clean
                    outputs.pop()
                out = dict(out, text=lines(clean))
            outputs.append(out)
        cell["outputs"] = outputs
        if cell.get("execution_count") is None:
            # not executed (an empty cell): no count, nor for its outputs
            continue
        count += 1
        cell["execution_count"] = count
        for out in outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = count
    if problems:
        sys.exit(f"store-notebook: {name} not stored:\n  " + "\n  ".join(problems))

    nb["metadata"] = current.get("metadata", {})
    data = json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    folder = os.path.dirname(os.path.abspath(stored_path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        os.chmod(tmp, os.stat(stored_path).st_mode & 0o777)
        os.replace(tmp, stored_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    print(os.path.getsize(stored_path))


if __name__ == "__main__":
    main()
