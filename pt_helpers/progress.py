"""The training progress bar: a live widget in JupyterLab whose saved output shows how the run ended.

Taught with ``fit`` in notebooks/05_cnn.ipynb. ``tqdm.auto`` draws an ipywidgets bar in a notebook, but a notebook file
keeps only the plain-text copy made when the bar first appeared: a committed training cell then reads
``0%|          | 0/64 [00:00<?, ?it/s]`` forever, on GitHub, on the course website and in JupyterLab without the
widget state. :func:`progress_bar` shows the same widget and, when it closes, re-sends it under the same display id,
so the saved text is the finished bar (``100%|██████████| 64/64 [00:12<00:00, 5.2it/s]``). Outside a notebook it is
tqdm's text bar, cleared when done.
"""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm as auto_tqdm
from tqdm.notebook import tqdm as notebook_tqdm
from tqdm.std import tqdm as std_tqdm

__all__ = ["progress_bar", "NotebookBar", "in_notebook"]


def in_notebook() -> bool:
    """True in a Jupyter kernel with ipywidgets, where ``tqdm.auto`` chose the widget bar."""
    return issubclass(auto_tqdm, notebook_tqdm)


class NotebookBar(notebook_tqdm):
    """tqdm's widget bar, displayed under a display id and re-displayed on :meth:`close` (finished state kept)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, display=False, leave=True, **kwargs)
        self.handle = None
        if not self.disable:
            from IPython.display import display

            self.handle = display(self.container, display_id=True)
            self.displayed = True

    def close(self) -> None:
        finished = not self.disable and getattr(self, "handle", None) is not None
        super().close()
        if finished:
            self.handle.update(self.container)  # the saved text/plain becomes the final meter


def progress_bar(total: int, *, disable: bool = False) -> std_tqdm:
    """One bar for a training run: :class:`NotebookBar` in a notebook, tqdm's text bar (``leave=False``) elsewhere.

    Args:
        total: steps in the run. disable: no bar at all (``fit(quiet=True)``).
    Returns:
        A tqdm object (``update``, ``set_description``, ``set_postfix``, ``close``, ``write``).
    """
    if in_notebook():
        return NotebookBar(total=total, disable=disable)
    return std_tqdm(total=total, leave=False, disable=disable)
