"""What scripts/store-notebook.py and scripts/check-notebooks.py both read in
a notebook's cells (imported by both; plain Python 3)."""


def text(value):
    """A notebook string field, stored as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else (value or "")


def first_line(cell):
    """The cell's first non-blank source line, shortened, to name it in messages."""
    for line in text(cell.get("source", "")).splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= 60 else line[:59] + "…"
    return "(empty cell)"


def faults(cell):
    """What a stored cell must not show: an error output, or a bare `()`
    result (a Rust cell whose last expression is a statement without `;`)."""
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "error":
            yield f"an error ({out.get('ename', '?')})"
        elif kind == "execute_result" and text(out.get("data", {}).get("text/plain")).strip() == "()":
            yield "a bare `()` result (end its last expression with `;`)"
