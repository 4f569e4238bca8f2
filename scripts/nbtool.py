#!/usr/bin/env python3
"""Round-trip a lesson notebook through a plain "percent" script, for editing in any editor.

    python scripts/nbtool.py to-py notebooks/05_cnn.ipynb > /tmp/05.py     # edit /tmp/05.py ...
    python scripts/nbtool.py from-py /tmp/05.py notebooks/05_cnn.ipynb    # ... and write it back

Cells are separated by ``# %%`` (code) and ``# %% [markdown]`` lines; markdown lines carry a
leading ``# ``. ``from-py`` keeps the stored outputs of code cells whose source did not change and
clears the others, so run ``make execute NB=...`` afterwards. The notebook stays the source of truth:
the script is a temporary editing format, not committed.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3 (PyTorch Workbook)", "language": "python", "name": "python3"}


def to_py(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            body = "\n".join(("# " + line) if line else "#" for line in cell.source.splitlines())
            parts.append("# %% [markdown]\n" + body)
        else:
            parts.append("# %%\n" + cell.source)
    return "\n\n".join(parts) + "\n"


def parse_py(text: str) -> list[tuple[str, str]]:
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %% [markdown]"):
            cells.append(("markdown", []))
        elif line.startswith("# %%"):
            cells.append(("code", []))
        elif cells:
            cells[-1][1].append(line)
        elif line.strip():
            raise SystemExit("the script must start with a '# %%' or '# %% [markdown]' line")
    out = []
    for kind, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        out.append((kind, "\n".join(lines)))
    return out


def from_py(text: str, old: nbformat.NotebookNode | None) -> nbformat.NotebookNode:
    previous = {}
    if old is not None:
        previous = {c.source: c for c in old.cells if c.cell_type == "code"}
    nb = nbformat.v4.new_notebook()
    nb.metadata = old.metadata if old is not None else {
        "kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for kind, source in parse_py(text):
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        elif source in previous:
            cell = previous[source]
            nb.cells.append(nbformat.v4.new_code_cell(source, outputs=cell.get("outputs", []),
                                                      execution_count=cell.get("execution_count")))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source))
    seen: set[str] = set()
    for cell in nb.cells:  # ids from content, not random: rewriting a notebook does not churn them
        base = hashlib.sha1((cell.cell_type + cell.source).encode()).hexdigest()[:8]
        cid, n = base, 1
        while cid in seen:
            cid, n = f"{base}-{n}", n + 1
        seen.add(cid)
        cell["id"] = cid
    return nb


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "to-py":
        sys.stdout.write(to_py(nbformat.read(argv[1], as_version=4)))
        return 0
    if len(argv) == 3 and argv[0] == "from-py":
        target = Path(argv[2])
        old = nbformat.read(target, as_version=4) if target.exists() else None
        nb = from_py(Path(argv[1]).read_text(encoding="utf-8"), old)
        nbformat.write(nb, target)
        print(f"wrote {target} ({len(nb.cells)} cells)")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
