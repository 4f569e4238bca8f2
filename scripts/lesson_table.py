#!/usr/bin/env python3
"""Print (or write into README.md) the lesson table from measured figures.

Usage: python scripts/lesson_table.py [--write README.md] [--gpu-timings gpu/timings.json]

Runtimes come from ``data/timings.json`` (written by ``make execute``: whole notebook, full mode);
headline results from the ``RESULT {...}`` lines in the committed notebooks' outputs (printed by
``pt_helpers.env.record_result`` during ``make execute``). Nothing here is typed by hand except the
data column.
In README.md the table sits between ``<!-- lessons:begin -->`` and ``<!-- lessons:end -->``; rows of
lessons with no new measurement keep their previous runtime and result cells.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from checked_cells import output_text  # sibling script (scripts/ is on sys.path when run as a script)

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- lessons:begin -->", "<!-- lessons:end -->"
HEADER = ("| # | lesson | data | CPU, full mode | GPU, full mode | headline result (full mode) |\n"
          "|---|---|---|---|---|---|")
DATA = {  # what each lesson reads (descriptive, not measured)
    "00": "none", "01": "none", "02": "synthetic tensors", "03": "Fashion-MNIST, a small ImageFolder tree",
    "04": "Fashion-MNIST", "05": "Fashion-MNIST", "06": "Fashion-MNIST (small subsets)",
    "07": "FashionCanvas (64×64 composites, masks)", "08": "Fashion-MNIST, FashionCanvas",
    "09": "FashionCanvas as a VOCdevkit tree", "10": "Fashion-MNIST (the CNN of lesson 05, the ViT of lesson 08)",
    "11": "Fashion-MNIST",
}


def title(nb: Path) -> str:
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    first = next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), nb.stem)
    text = first.splitlines()[0].lstrip("# ").strip()
    return re.sub(r"^\d\d\s*[·—-]\s*", "", text)


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def notebook_results(nb: Path) -> list[dict]:
    """The RESULT records printed in a notebook's stored outputs (full mode: the committed truth)."""
    found = []
    for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
        for line in output_text(cell).splitlines():
            if line.startswith("RESULT {"):
                found.append(json.loads(line[len("RESULT "):]))
    return found


def fmt_result(rec: dict) -> str:
    v = rec["value"]
    value = f"{v:.4f}" if isinstance(v, float) and abs(v) < 10 else f"{v:.1f}" if isinstance(v, float) else str(v)
    return f"{rec['metric']} = {value} ({rec['seconds']:.0f} s)"


def old_rows(readme: str) -> dict[str, list[str]]:
    rows = {}
    if BEGIN in readme:
        block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
        for line in block.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and re.fullmatch(r"\d\d", cells[0]):
                rows[cells[0]] = cells
    return rows


def table(readme: str = "", gpu: dict[str, float] | None = None) -> str:
    timings_file = ROOT / "data" / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    previous = old_rows(readme)
    lines = [HEADER]
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        num = nb.name[:2]
        old = previous.get(num, [])
        cpu = minutes(timings[nb.name]) if nb.name in timings else (old[3] if len(old) > 3 else "—")
        gpu_cell = minutes(gpu[nb.name]) if gpu and nb.name in gpu else (old[4] if len(old) > 4 else "—")
        res = "; ".join(fmt_result(r) for r in notebook_results(nb)) or "—"
        link = f"[{title(nb)}](notebooks/{nb.name})"
        lines.append(f"| {num} | {link} | {DATA.get(num, '')} | {cpu} | {gpu_cell} | {res} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path, help="README to update between the lessons markers")
    ap.add_argument("--gpu-timings", type=Path, help="timings.json from the GPU runner's artifact")
    args = ap.parse_args(argv)
    gpu = json.loads(args.gpu_timings.read_text()) if args.gpu_timings else None
    if not args.write:
        print(table("", gpu))
        return 0
    readme = args.write.read_text(encoding="utf-8")
    if BEGIN not in readme or END not in readme:
        print(f"{args.write}: no {BEGIN} ... {END} markers to write the table between", file=sys.stderr)
        return 2
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    args.write.write_text(f"{head}{BEGIN}\n{table(readme, gpu)}\n{END}{tail}", encoding="utf-8")
    print(f"{args.write}: lesson table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
