"""Run All, as a learner clicks it: every notebook and every workbook copy runs to its last code cell.

JupyterLab's Run All, nbclient, nbconvert, papermill and nbval all stop at the first cell that raises unless
the cell carries the ``raises-exception`` tag. The tag is therefore part of the committed notebooks; the
``# NBVAL_RAISES_EXCEPTION`` comment stays beside it for readers on GitHub (where tags are invisible) and
becomes "raises an error on purpose" in the workbook. conftest.py makes nbval fail a tagged cell that does not
raise; the tests here check the committed files and execute the workbook the way Run All does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WORKBOOK = sorted((ROOT / "workbook").glob("[0-9][0-9]_*.ipynb"))
TAG = "raises-exception"
MARKER = "# NBVAL_RAISES_EXCEPTION"
LEARNER_MARKER = "# This cell raises an error on purpose"


def _code_cells(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            yield i, cell


def _tagged(cell: dict) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_that_raise_are_tagged(path):
    """In the committed full-mode run, a cell has an error output exactly when it is tagged."""
    wrong = []
    for i, cell in _code_cells(path):
        raised = any(out.get("output_type") == "error" for out in cell.get("outputs", []))
        marked = any(line.strip() == MARKER for line in "".join(cell["source"]).splitlines())
        if raised and not _tagged(cell):
            wrong.append(f"cell {i} raises but lacks the {TAG!r} tag: Run All stops there")
        if _tagged(cell) and not raised:
            wrong.append(f"cell {i} is tagged {TAG!r} but its committed output has no error")
        if marked != _tagged(cell):
            wrong.append(f"cell {i}: the {MARKER} comment and the {TAG!r} tag must come together")
        if cell.get("execution_count") is None:
            wrong.append(f"cell {i} was never executed (make execute runs every cell)")
    assert not wrong, f"{path.name}: " + "; ".join(wrong)


@pytest.mark.parametrize("path", WORKBOOK, ids=lambda p: p.stem)
def test_workbook_keeps_the_tags(path):
    wrong = [i for i, cell in _code_cells(path)
             if _tagged(cell) != any(line.strip().startswith(LEARNER_MARKER)
                                     for line in "".join(cell["source"]).splitlines())]
    assert not wrong, f"{path.name}: cells {wrong} lack the {TAG!r} tag or the learner's comment"


@pytest.mark.slow
@pytest.mark.parametrize("path", WORKBOOK, ids=lambda p: p.stem)
def test_workbook_runs_all_before_any_exercise_is_answered(path, tmp_path):
    """A learner opens a fresh workbook lesson and runs it all: it reaches the last code cell (fast mode),
    every blank exercise says "no answer yet", and nothing else fails. Executed with nbclient, which stops
    at the first untagged error exactly as JupyterLab's Run All does."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    assert os.environ.get("PT_COURSE_FAST") == "1", "conftest.py sets fast mode for executed notebooks"
    try:
        client.execute()
    except CellExecutionError as err:
        ran = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")]
        pytest.fail(f"{path.name}: Run All stopped at cell {ran[-1] if ran else 0}: "
                    f"{str(err).strip().splitlines()[-1]}")
    unrun = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.get("execution_count")]
    assert not unrun, f"{path.name}: cells {unrun} did not run"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "...  # your code here" in cell.source:
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            assert "no answer yet" in text, f"{path.name} cell {i}: a blank exercise printed {text!r}"
