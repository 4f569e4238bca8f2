"""The workbook mechanism: blanking, currency of workbook/, and every exercise's checker."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_workbook.py"
sys.path.insert(0, str(SCRIPT.parent))  # scripts/ is not a package: import the program from its folder
from make_workbook import BEGIN, END, blank_solutions, stale_files, workbook_notebook  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_blank_keeps_indentation_and_surroundings():
    src = f"def f(x):\n    {BEGIN}\n    return x + 1\n    {END}\n\ncheck(f)"
    assert blank_solutions(src) == "def f(x):\n    ...  # your code here\n\ncheck(f)"


def test_blank_rewrites_test_markers_for_learners():
    src = "# NBVAL_CHECK_OUTPUT\nprint(1)\n# NBVAL_RAISES_EXCEPTION\nboom()"
    out = blank_solutions(src)
    assert "NBVAL" not in out
    assert out.startswith("print(1)\n# This cell raises an error on purpose")


@pytest.mark.parametrize("src, problem", [
    (f"{BEGIN}\nx = 1", "without"),
    (f"x = 1\n{END}", "without"),
    (f"{BEGIN}\n{BEGIN}\n{END}", "nested"),
])
def test_blank_rejects_unbalanced_markers(src, problem):
    with pytest.raises(ValueError, match=problem):
        blank_solutions(src, where="05_cnn.ipynb cell 3")


def test_workbook_notebook_clears_outputs():
    nb = {"cells": [{"cell_type": "code", "source": f"{BEGIN}\nx = 1\n{END}", "outputs": [{"x": 1}],
                     "execution_count": 3, "metadata": {}}], "metadata": {}}
    out = workbook_notebook(nb)
    cell = out["cells"][0]
    assert cell["outputs"] == [] and cell["execution_count"] is None
    assert cell["source"] == "...  # your code here"
    assert nb["cells"][0]["outputs"] == [{"x": 1}], "the input notebook must not be modified"


def test_workbook_is_current():
    stale = stale_files(ROOT / "notebooks", ROOT / "workbook")
    assert not stale, f"workbook/ is out of date for {stale}: run `make workbook` and commit"


def test_command_line_check_and_write(tmp_path):
    """`python scripts/make_workbook.py [--src --out] [--check]`: what `make workbook` runs."""
    src, out = tmp_path / "notebooks", tmp_path / "workbook"
    src.mkdir()
    nb = {"cells": [{"cell_type": "code", "source": f"{BEGIN}\nx = 1\n{END}", "outputs": [],
                     "execution_count": 1, "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (src / "01_x.ipynb").write_text(json.dumps(nb), encoding="utf-8")

    def run(*args):
        return subprocess.run([sys.executable, str(SCRIPT), "--src", str(src), "--out", str(out), *args],
                              capture_output=True, text=True, check=False)

    stale = run("--check")
    assert stale.returncode == 1 and "01_x.ipynb" in stale.stdout and "make workbook" in stale.stdout
    wrote = run()
    assert wrote.returncode == 0 and "1 file(s) written" in wrote.stdout
    assert "your code here" in (out / "01_x.ipynb").read_text(encoding="utf-8")
    current = run("--check")
    assert current.returncode == 0 and current.stdout.strip() == "workbook up to date"


def _exercise_cells():
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            src = "".join(cell["source"])
            if cell["cell_type"] == "code" and BEGIN in src:
                yield pytest.param(src, id=f"{path.stem}-cell{i}")


EXERCISES = list(_exercise_cells())


@pytest.mark.parametrize("source", EXERCISES or [pytest.param("", marks=pytest.mark.skip(reason="no exercises yet"))])
def test_exercise_checker_passes_solution_and_explains_blank(source):
    """Exercise cells are self-contained: the solution passes; the blanked cell fails with feedback."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<solution>", "exec"), {"__name__": "__exercise__"})  # noqa: S102
    assert "✓" in out.getvalue(), "a checker must print its ✓ line on the solution"

    # A fresh workbook must survive Run All: the blank cell runs to its checker, which says "no answer yet"
    # (one line, no ✓) instead of raising.
    blank = blank_solutions(source)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blank, "<workbook>", "exec"), {"__name__": "__exercise__"})  # noqa: S102
    assert "no answer yet" in out.getvalue() and "✓" not in out.getvalue(), out.getvalue()
