"""What every explorer shares: the figure as PNG bytes for an ``ipywidgets.Image``, and the box it returns.

A notebook file keeps a widget as a view id plus a plain-text copy: GitHub, the course website and a JupyterLab
without the widget's state show that text. An ipywidgets ``VBox`` would print its children there
(``VBox(children=(Dropdown(...``); :class:`ExplorerBox` prints what it is and where to use it instead.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ipywidgets as widgets
from matplotlib.figure import Figure

__all__ = ["figure_png", "ExplorerBox", "controls"]


def figure_png(fig: Figure, *, dpi: float = 80) -> bytes:
    """A figure as PNG bytes, for an ``ipywidgets.Image`` (what every explorer shows and redraws).

    Fast zlib compression (level 1): a redraw spends its time drawing, not squeezing a few kilobytes.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


class ExplorerBox(widgets.VBox):
    """The ``VBox`` an explorer returns; ``title`` names it in the plain-text copy a notebook file keeps."""

    def __init__(self, children: Sequence[widgets.Widget], *, title: str) -> None:
        super().__init__(list(children))
        self.explorer_title = title

    def __repr__(self) -> str:  # ipywidgets keeps at most 110 characters of it
        return f"{self.explorer_title}: interactive, run the cell in JupyterLab (the figure above is its first view)"


def controls(box: widgets.Widget) -> dict[str, widgets.Widget]:
    """An explorer's widgets by their description (``"stride"``, ``"kernel"``), the ``Image`` and ``HTML`` by type
    name: how a test or a benchmark (or a curious learner) turns a knob without a browser."""
    found: dict[str, widgets.Widget] = {}
    stack = [box]
    while stack:
        w = stack.pop()
        stack.extend(getattr(w, "children", ()))
        found[getattr(w, "description", "") or type(w).__name__] = w
    return found
