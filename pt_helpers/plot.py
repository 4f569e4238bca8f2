"""Figures for the lessons. Every function returns a ``matplotlib.figure.Figure`` and touches no global state.

Figures are built with the object-oriented API (``Figure()``, not ``pyplot``), so a notebook shows a
figure exactly once: when it is the last expression of a cell (or passed to ``display``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = ["image_grid", "curves", "bar_chart"]


def _to_numpy_image(img: torch.Tensor | np.ndarray) -> np.ndarray:
    a = img.detach().cpu().float().numpy() if isinstance(img, torch.Tensor) else np.asarray(img, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3):  # CHW -> HWC
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    return a


def image_grid(images: Sequence | torch.Tensor, titles: Sequence[str] | None = None, *, ncols: int = 8,
               cmap: str = "gray", size: float = 1.3, suptitle: str | None = None) -> Figure:
    """A grid of images with optional titles.

    Args:
        images: ``(N, H, W)``, ``(N, C, H, W)`` tensor/array or a list of images (HW, CHW or HWC).
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
            ax.imshow(_to_numpy_image(images[i]), cmap=cmap)
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
