#!/usr/bin/env python3
"""Generate the learner's workbook: notebook copies with solutions blanked and outputs cleared.

Solutions live in the notebooks between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines; the
workbook replaces each region with ``...`` at the same indentation. Run
``.venv/bin/python scripts/make_workbook.py`` (``make workbook``) to write ``workbook/``, or ``--check``
to fail when it is out of date. Maintainer tooling: it lives in scripts/, not in pt_helpers.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

__all__ = ["BEGIN", "END", "blank_solutions", "workbook_notebook", "write_workbook", "stale_files"]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_MARKER_TEXT = {
    "# NBVAL_CHECK_OUTPUT": None,  # dropped: a test marker means nothing to a learner
    "# NBVAL_RAISES_EXCEPTION": "# This cell raises an error on purpose: read the message.",
    "# NBVAL_SKIP": "# This cell needs hardware this machine may not have (see the cell above).",
}


def blank_solutions(source: str, *, where: str = "cell") -> str:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` region (markers included) with ``...``.

    Raises:
        ValueError: unbalanced or nested markers, naming ``where``.
    """
    out: list[str] = []
    inside = False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}...  # your code here")
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            if stripped not in _MARKER_TEXT:
                out.append(line)
            elif _MARKER_TEXT[stripped] is not None:
                out.append(line[: len(line) - len(line.lstrip())] + _MARKER_TEXT[stripped])
    if inside:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def workbook_notebook(nb: dict, *, name: str = "notebook") -> dict:
    """A copy of the notebook JSON with solutions blanked, outputs and execution counts cleared."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", []))
        blank = blank_solutions(src, where=f"{name} cell {i}")
        cell["source"] = blank
        cell["outputs"] = []
        cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    return nb


def _dump(nb: dict) -> str:
    # nbformat's on-disk style: indent 1, sorted keys, trailing newline, non-ASCII kept
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _pairs(src_dir: Path, out_dir: Path) -> list[tuple[Path, Path]]:
    return [(p, out_dir / p.name) for p in sorted(src_dir.glob("[0-9][0-9]_*.ipynb"))]


def write_workbook(src_dir: Path, out_dir: Path) -> list[Path]:
    """Write the workbook copies of every ``NN_*.ipynb``; remove copies whose lesson is gone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    pairs = _pairs(src_dir, out_dir)
    for src, dst in pairs:
        text = _dump(workbook_notebook(json.loads(src.read_text(encoding="utf-8")), name=src.name))
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            dst.write_text(text, encoding="utf-8")
            written.append(dst)
    keep = {dst.name for _, dst in pairs}
    for old in out_dir.glob("[0-9][0-9]_*.ipynb"):
        if old.name not in keep:
            old.unlink()
    return written


def stale_files(src_dir: Path, out_dir: Path) -> list[str]:
    """Names of workbook copies that are missing, out of date, or left over."""
    stale = []
    pairs = _pairs(src_dir, out_dir)
    for src, dst in pairs:
        text = _dump(workbook_notebook(json.loads(src.read_text(encoding="utf-8")), name=src.name))
        if not dst.exists() or dst.read_text(encoding="utf-8") != text:
            stale.append(dst.name)
    keep = {dst.name for _, dst in pairs}
    stale += [p.name for p in out_dir.glob("[0-9][0-9]_*.ipynb") if p.name not in keep]
    return stale


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=root / "notebooks")
    ap.add_argument("--out", type=Path, default=root / "workbook")
    ap.add_argument("--check", action="store_true", help="exit 1 if workbook/ is not up to date")
    args = ap.parse_args(argv)
    if args.check:
        stale = stale_files(args.src, args.out)
        if stale:
            print("workbook out of date: " + ", ".join(stale) + " (run: make workbook)")
            return 1
        print("workbook up to date")
        return 0
    written = write_workbook(args.src, args.out)
    print(f"workbook: {len(written)} file(s) written to {args.out}" + "".join(f"\n  {p.name}" for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())

