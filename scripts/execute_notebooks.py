#!/usr/bin/env python3
"""Execute notebooks in place in FULL mode, so the committed outputs are the truth (`make execute`).

Usage: python scripts/execute_notebooks.py [notebooks/NN_topic.ipynb ...]   (default: all lessons)
Runs each notebook top to bottom in a fresh kernel with the notebook's folder as working directory,
PT_COURSE_FAST removed from the environment, and stops at the first cell that raises, except cells tagged
``raises-exception`` (the error is the lesson there; JupyterLab's Run All honours the same tag). Cells marked
NBVAL_SKIP are executed too: they guard themselves (``if torch.cuda.is_available()``), so on a CPU machine
the committed output is their "skipped: ..." line; nbval skips them in CPU tests and the GPU runner runs
them (PT_RUN_GPU_CELLS=1). Prints the wall time of each notebook; writes data/timings.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # state saved by earlier runs
    # store_widget_state=False: a widget's saved output is its plain-text copy (the finished progress bar, the
    # explorer's "run the cell in JupyterLab" line) beside the static figure the lesson shows; the widgets' own
    # state (the explorers' PNGs, ~100 KB) would only serve a widget manager, which the course never loads.
    client = NotebookClient(nb, timeout=3600, kernel_name="python3", record_timing=False, store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        seconds = time.perf_counter() - start
        nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    os.environ.pop("PT_COURSE_FAST", None)
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    timings_file = ROOT / "data" / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    for path in paths:
        if not path.is_file():
            print(f"no such notebook: {path}", file=sys.stderr)
            return 2
        print(f"executing {path.name} (full mode) ...", flush=True)
        try:
            seconds = execute(path)
        except CellExecutionError as err:
            print(f"FAILED {path.name}: {str(err).splitlines()[-1] if str(err) else err}", file=sys.stderr)
            return 1
        timings[path.name] = round(seconds, 1)
        print(f"  {path.name}: {seconds:.0f} s", flush=True)
    timings_file.parent.mkdir(exist_ok=True)
    timings_file.write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
