"""The course as a learner meets it: `make lab`, a lesson opened in JupyterLab in Chromium, Run → Run All Cells.

The server is started by `make lab` itself (on a copy of notebooks/ and workbook/, so nothing the browser does can
autosave into the committed files), with fresh user settings. The page is driven through JupyterLab's menus and
keyboard like a person; what happened is then read from JupyterLab's own notebook model
(``--LabApp.expose_app_in_browser``). No request may leave 127.0.0.1. Screenshots: ``$PT_SCREENSHOT_DIR``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser_session import offline_page, screenshot
from system_helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "course-browser-test"
NB = "window.jupyterapp?.shell?.currentWidget"  # for conditions, before the app has loaded
CUR = "window.jupyterapp.shell.currentWidget"  # for actions, once it has
CODE_CELLS = f"Array.from({{length: {NB}.model.cells.length}}, (_, i) => {NB}.model.cells.get(i))" \
             ".filter(c => c.type === 'code')"
KERNEL_IDLE = f"{NB}?.sessionContext?.session?.kernel?.status === 'idle'"

pytestmark = [pytest.mark.browser, pytest.mark.server]
FIT_CELL = """import time
import torch
from torch import nn
from pt_helpers.train import fit

class Slow(nn.Linear):  # slow enough for the bar to be seen moving
    def forward(self, x):
        time.sleep(0.05)
        return super().forward(x)

torch.manual_seed(0)
data = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(20)]
model = Slow(4, 3)
history = fit(model, data, None, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
              loss_fn=nn.CrossEntropyLoss(), device="cpu")
"""
EXPLORER_CELL = """from pt_helpers.data import fashion_mnist_tensors
from pt_helpers.explore.conv import conv_explorer

images, labels = fashion_mnist_tensors(train=False)
conv_explorer(images[0])
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`make lab` on a copy of the course; yields the base URL."""
    if not (ROOT / ".venv" / ".installed").exists():
        pytest.skip("make setup has not run here (make test runs it first)")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "course"
    for folder in ("notebooks", "workbook"):
        shutil.copytree(ROOT / folder, root / folder)
    (root / "scratch").mkdir()
    kernelspec = {"name": "python3", "display_name": "Python 3 (PyTorch Workbook)", "language": "python"}
    for name, cell in (("progress", FIT_CELL), ("explorer", EXPLORER_CELL)):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)],
                                            metadata={"kernelspec": kernelspec})
        nbformat.write(notebook, root / "scratch" / f"{name}.ipynb")
    port = free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp / "user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), PT_COURSE_FAST="1")
    log = (tmp / "lab.log").open("w")
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"LAB_PORT={port}", f"LAB_ROOT={root}",
         f"LAB_ARGS=--no-browser --IdentityProvider.token={TOKEN} --ServerApp.port_retries=0 "
         "--LabApp.expose_app_in_browser=True"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"make lab did not answer:\n{(tmp / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()


def open_notebook(page, base: str, path: str) -> None:
    page.goto(f"{base}/lab/tree/{path}?token={TOKEN}")
    name = path.rsplit("/", 1)[-1]
    page.wait_for_function(f"{NB}?.context?.path?.endsWith('{name}') && {KERNEL_IDLE}", timeout=90_000)


def run_scratch(page, base: str, name: str, selector: str):
    """Open scratch/<name>.ipynb, Run All, wait for ``selector`` inside its outputs; the locator and the panel id."""
    open_notebook(page, base, f"scratch/{name}.ipynb")
    panel = page.evaluate(f"() => {CUR}.id")
    run_all(page, timeout_s=120)
    found = page.locator(f"#{panel} .jp-OutputArea {selector}")
    found.first.wait_for(timeout=30_000)
    return found, panel


def run_all(page, timeout_s: float = 240) -> None:
    """Run → Run All Cells, through the menu bar; wait until every code cell has an execution count."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(f"() => {KERNEL_IDLE} && {CODE_CELLS}.every(c => c.executionCount !== null)",
                           timeout=timeout_s * 1000, polling=500)


def cell_report(page) -> list[dict]:
    """For every code cell: execution count, tags, output types."""
    return page.evaluate(f"""() => {CODE_CELLS}.map(c => ({{
        count: c.executionCount, tags: c.getMetadata('tags') || [],
        outputs: Array.from({{length: c.outputs.length}}, (_, k) => c.outputs.get(k).type)}}))""")


def test_run_all_runs_lesson_00_to_its_last_cell_with_the_course_kernel(lab, tmp_path):
    with offline_page() as (page, traffic):
        open_notebook(page, lab, "notebooks/00_setup.ipynb")
        run_all(page)
        cells = cell_report(page)
        kernel = page.evaluate(f"() => {NB}.sessionContext.kernelDisplayName")
        shot = screenshot(page, "lab_00_run_all.png", tmp_path)
        assert "Would you like to get notified" not in page.inner_text("body"), f"news prompt shown: {shot}"
    assert kernel == "Python 3 (PyTorch Workbook)", kernel
    assert all(c["count"] is not None for c in cells), cells
    assert [c["count"] for c in cells] == list(range(1, len(cells) + 1)), "Run All stopped or skipped a cell"
    raised = [i for i, c in enumerate(cells) if "error" in c["outputs"]]
    tagged = [i for i, c in enumerate(cells) if "raises-exception" in c["tags"]]
    assert raised == tagged and tagged, (raised, tagged)
    traffic.assert_offline()
    assert not traffic.failed, traffic.failed


def test_a_workbook_exercise_answered_in_the_browser(lab, tmp_path):
    """Run All over a fresh workbook lesson, then type an answer into the one-hot exercise and run it."""
    with offline_page() as (page, traffic):
        open_notebook(page, lab, "workbook/01_tensors.ipynb")
        run_all(page)
        assert all(c["count"] is not None for c in cell_report(page)), "Run All stopped in the workbook"
        idx = page.evaluate(f"""() => {{ const m = {NB}.model.cells;
            for (let i = 0; i < m.length; i++)
                if (m.get(i).sharedModel.getSource().includes('check_one_hot(')) return i;
            return -1; }}""")
        assert idx >= 0
        output = f"{NB}.content.widgets[{idx}].outputArea.node.innerText"
        assert "no answer yet" in page.evaluate(f"() => {output}")
        source = page.evaluate(f"() => {NB}.model.cells.get({idx}).sharedModel.getSource()")
        assert "...  # your code here" in source
        page.evaluate(f"() => {{ {CUR}.content.activeCellIndex = {idx}; {CUR}.content.scrollToItem({idx}); }}")
        panel = page.evaluate(f"() => {CUR}.id")
        page.locator(f"#{panel} .jp-Cell.jp-mod-active .cm-content").click()  # edit mode, as a click into the cell
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(source.replace(
            "...  # your code here",
            "return torch.zeros(len(labels), num_classes).scatter_(1, labels.unsqueeze(1), 1.0)"))
        page.keyboard.press("Shift+Enter")
        page.wait_for_function(f"() => {output}.includes('✓') || {output}.includes('Error')", timeout=60_000)
        text = page.evaluate(f"() => {output}")
        page.evaluate(f"() => {NB}.content.scrollToItem({idx})")
        screenshot(page, "lab_workbook_01_one_hot.png", tmp_path)
    assert "✓ one_hot: correct" in text, text
    traffic.assert_offline()


def test_a_training_cell_draws_its_progress_bar_as_a_widget(lab, tmp_path):
    """fit's bar is an ipywidgets progress bar in JupyterLab (not tqdm's text fallback), and it ends full."""
    with offline_page() as (page, traffic):
        bar, panel = run_scratch(page, lab, "progress", ".widget-hprogress .progress-bar")
        label = page.locator(f"#{panel} .jp-OutputArea .widget-html-content").all_inner_texts()
        screenshot(page, "lab_fit_progress_widget.png", tmp_path)
        text = page.inner_text(f"#{panel} .jp-OutputArea")
        width = bar.first.evaluate("b => b.style.width")
    assert width == "100%", width
    assert any("40/40" in t for t in label), label
    assert "0%|" not in text and "epoch  2/2" in text, text
    traffic.assert_offline()


def test_moving_an_explorer_slider_redraws_its_figure(lab, tmp_path):
    """Lesson 05's convolution explorer as a learner uses it: the stride slider moved to 2 redraws the map and
    the output-size formula."""
    with offline_page() as (page, traffic):
        picture, panel = run_scratch(page, lab, "explorer", "img.widget-image")
        before = picture.first.get_attribute("src")
        formula_before = page.inner_text(f"#{panel} .jp-OutputArea .widget-html-content")
        stride = page.locator(f"#{panel} .widget-slider").filter(has_text="stride").locator(".noUi-handle")
        stride.first.focus()
        page.keyboard.press("ArrowRight")  # stride 1 -> 2, as a learner's arrow key or drag does
        page.wait_for_function("([sel, old]) => document.querySelector(sel).getAttribute('src') !== old",
                               arg=[f"#{panel} .jp-OutputArea img.widget-image", before], timeout=30_000)
        formula_after = page.inner_text(f"#{panel} .jp-OutputArea .widget-html-content")
        screenshot(page, "lab_conv_explorer_stride2.png", tmp_path)
    assert formula_before != formula_after and "2" in formula_after, (formula_before, formula_after)
    traffic.assert_offline()
