#!/usr/bin/env python3
"""Print every ``# NBVAL_CHECK_OUTPUT`` cell with its committed output, for review.

Usage: python scripts/checked_cells.py notebooks/*.ipynb

Use it before a release to read each checked cell for values that differ between CPU and GPU,
fast and full mode, or machines (device strings, float noise, GPU-only branches, timings).
"""

import json
import sys


def output_text(cell: dict) -> str:
    """The text a code cell printed or displayed (stream text, else the text/plain of a result)."""
    parts = []
    for o in cell.get("outputs", []):
        if "text" in o:
            parts.append("".join(o["text"]))
        elif "data" in o:
            parts.append("".join(o["data"].get("text/plain", "")))
    return "".join(parts)


def main(paths: list[str]) -> int:
    count = 0
    for path in paths:
        nb = json.load(open(path, encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            src = "".join(cell["source"])
            if cell["cell_type"] != "code" or "NBVAL_CHECK_OUTPUT" not in src:
                continue
            count += 1
            print(f"=== {path} cell {i}\n{src}\n--- output:\n{output_text(cell)}")
    print(f"{count} checked cells", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
