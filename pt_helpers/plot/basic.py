"""The everyday figures: a grid of images, curves per epoch, bars with their values.

Taught in notebooks/03_data.ipynb (image_grid, bar_chart) and notebooks/04_mlp.ipynb (curves); used by
every later lesson. Each function returns a ``matplotlib.figure.Figure`` and touches no global state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .image import to_image

__all__ = ["image_grid", "curves", "bar_chart"]


def image_grid(images: Sequence | torch.Tensor | np.ndarray, titles: Sequence[str] | None = None, *, ncols: int = 8,
               cmap: str = "gray", size: float = 1.3, suptitle: str | None = None) -> Figure:
    """A grid of images with optional titles.

    Args:
        images: ``(N, H, W)``, ``(N, C, H, W)`` tensor/array or a list of images (HW, CHW or HWC), shown
            as they are (:func:`~pt_helpers.plot.image.to_image` with ``scale="keep"``): a grey image
            through ``cmap`` stretched to its own min..max, RGB as floats in [0, 1] or uint8.
        titles: one string per image (e.g. class names), shown above each image.
        ncols: images per row. size: inches per image.
    """
    n = len(images)
    if n == 0:
        raise ValueError("image_grid(images): got no images")
    if titles is not None and len(titles) != n:
        raise ValueError(f"image_grid: {n} images but {len(titles)} titles")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(size * ncols, size * nrows + (0.35 if suptitle else 0) + (0.25 * nrows if titles else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_image(images[i]), cmap=cmap)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def curves(series: Mapping[str, Sequence[float]], *, xlabel: str = "epoch", ylabel: str = "",
           title: str | None = None, logy: bool = False, size: tuple[float, float] = (6, 3.5)) -> Figure:
    """Line plot of named series sharing one x axis (e.g. ``{"train loss": [...], "val loss": [...]}``)."""
    if not series:
        raise ValueError("curves(series): got an empty mapping")
    fig = Figure(figsize=size)
    ax = fig.subplots()
    for name, ys in series.items():
        ys = [float(y) for y in ys]
        ax.plot(range(1, len(ys) + 1) if xlabel == "epoch" else range(len(ys)), ys, label=name,
                marker="o" if len(ys) <= 30 else None, markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def bar_chart(values: Mapping[str, float], *, ylabel: str = "", title: str | None = None,
              fmt: str = "{:.0f}", logy: bool = False, size: tuple[float, float] = (6, 3.5)) -> Figure:
    """Bars with their values written on top (e.g. images/s of several loaders)."""
    if not values:
        raise ValueError("bar_chart(values): got an empty mapping")
    fig = Figure(figsize=size)
    ax = fig.subplots()
    names = list(values)
    heights = [float(values[k]) for k in names]
    bars = ax.bar(names, heights, color="tab:blue")
    for bar, h in zip(bars, heights):
        ax.annotate(fmt.format(h), (bar.get_x() + bar.get_width() / 2, h), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig
