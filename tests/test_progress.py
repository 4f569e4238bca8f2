"""The progress bar keeps its finished state in the saved notebook (issue: committed cells showed 0% forever)."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from pt_helpers.progress import NotebookBar, in_notebook, progress_bar


def test_outside_a_notebook_it_is_the_text_bar_cleared_when_done():
    assert not in_notebook()
    bar = progress_bar(3, disable=True)
    assert not isinstance(bar, NotebookBar) and bar.leave is False
    bar.close()


def _run(source: str) -> list[dict]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb.cells[0].outputs


def test_a_notebook_keeps_the_finished_bar_and_the_widget():
    outputs = _run("from pt_helpers.progress import progress_bar\n"
                   "bar = progress_bar(40)\n"
                   "for _ in range(40):\n    bar.update()\n"
                   "bar.set_description('epoch 1/1')\n"
                   "bar.close()\n")
    shown = [o for o in outputs if o.get("output_type") == "display_data"]
    assert len(shown) == 1, outputs  # one display, updated in place (not a second bar)
    data = shown[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data  # JupyterLab draws the widget
    text = data["text/plain"]
    assert "40/40" in text and "100%" in text and "epoch 1/1" in text, text  # GitHub and the website: the end


def test_fit_in_a_notebook_saves_the_finished_bar():
    outputs = _run("import torch\nfrom torch import nn\nfrom pt_helpers.train import fit\n"
                   "torch.manual_seed(0)\n"
                   "data = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(6)]\n"
                   "model = nn.Linear(4, 3)\n"
                   "fit(model, data, None, epochs=2, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),\n"
                   "    loss_fn=nn.CrossEntropyLoss(), device='cpu')\n")
    texts = [o["data"]["text/plain"] for o in outputs if o.get("output_type") == "display_data"]
    assert texts and "12/12" in texts[0] and "0/12" not in texts[0], texts
    assert "epoch  2/2" in "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
