"""Figures for segmentation: coloured masks over images, and a confusion-matrix heat map.

Taught in notebooks/07_unet.ipynb. Like every figure in :mod:`pt_helpers.plot`, each function returns a
``matplotlib.figure.Figure`` built without pyplot and touches no global state.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.colors as mcolors
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .image import to_image, to_numpy

__all__ = ["SEG_PALETTE", "colorize_mask", "mask_overlays", "confusion_heatmap"]

# One fixed colour per canvas class (index = mask value): black background, then ten colours that stay
# apart on grey images (from Sasha Trubetskoy's list of distinct colours; no grey), so a class has the
# same colour in every figure of the course.
SEG_PALETTE: tuple[str, ...] = ("#000000", "#4363d8", "#f58231", "#3cb44b", "#e6194b", "#911eb4",
                                "#9a6324", "#f032e6", "#ffe119", "#42d4f4", "#bfef45")
_RGB = np.array([mcolors.to_rgb(c) for c in SEG_PALETTE], dtype=np.float32)  # (11, 3)


def colorize_mask(mask: torch.Tensor | np.ndarray) -> np.ndarray:
    """Class indices ``(H, W)`` in 0..10 -> RGB image ``(H, W, 3)`` float32 in [0, 1] (``SEG_PALETTE``)."""
    m = to_numpy(mask)
    if m.ndim != 2:
        raise ValueError(f"colorize_mask(mask): expected (H, W) class indices, got shape {m.shape}")
    if m.size and (m.min() < 0 or m.max() >= len(_RGB)):
        raise ValueError(f"colorize_mask(mask): values must lie in 0..{len(_RGB) - 1}, found {m.min()}..{m.max()}")
    return _RGB[m.astype(np.int64)]


def _grey(image: torch.Tensor | np.ndarray) -> np.ndarray:
    shape = tuple(image.shape)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[0] != 1):
        raise ValueError(f"mask_overlays(images): expected grey images (H, W) or (1, H, W), got {shape}")
    return to_image(image, scale="minmax")


def _blend(grey: np.ndarray, mask: torch.Tensor | np.ndarray, alpha: float) -> np.ndarray:
    colour = colorize_mask(mask)
    fg = (to_numpy(mask) > 0)[..., None]
    base = np.repeat(grey[..., None], 3, axis=2)
    return np.where(fg, (1 - alpha) * base + alpha * colour, base)


def mask_overlays(images: torch.Tensor | np.ndarray, true_masks: torch.Tensor | np.ndarray,
                  pred_masks: torch.Tensor | np.ndarray | None = None, *, class_names: Sequence[str],
                  row_titles: Sequence[str] | None = None, alpha: float = 0.6, show_errors: bool = False,
                  size: float = 1.6, suptitle: str | None = None) -> Figure:
    """One row per example: image | true mask | predicted mask [| errors], with a class legend.

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)`` grey images (any range; each is rescaled to [0, 1]).
        true_masks, pred_masks: ``(N, H, W)`` class indices (0 = background); ``pred_masks`` may be None.
        class_names: one name per palette entry (11: background + 10 classes), shown in the legend.
        row_titles: optional label per row (e.g. the image's mIoU), written left of the row.
        alpha: opacity of the colours over item pixels. show_errors: add a column that is white
            where the prediction differs from the truth.
    """
    n = len(images)
    if len(true_masks) != n or (pred_masks is not None and len(pred_masks) != n):
        raise ValueError(f"mask_overlays: {n} images but {len(true_masks)} true masks"
                         + ("" if pred_masks is None else f" and {len(pred_masks)} predicted masks"))
    if len(class_names) != len(SEG_PALETTE):
        raise ValueError(f"mask_overlays(class_names): expected {len(SEG_PALETTE)} names, got {len(class_names)}")
    if row_titles is not None and len(row_titles) != n:
        raise ValueError(f"mask_overlays(row_titles): expected {n}, got {len(row_titles)}")
    if show_errors and pred_masks is None:
        raise ValueError("mask_overlays(show_errors=True) needs pred_masks")
    cols = ["image", "true mask"] + (["predicted mask"] if pred_masks is not None else [])
    cols += ["errors"] if show_errors else []
    legend_h = 0.75  # inches under the grid: 11 entries in 4 columns
    fig = Figure(figsize=(max(size * len(cols) + 0.4, 4.6), size * n + 0.3 + legend_h + (0.3 if suptitle else 0)))
    axes = fig.subplots(n, len(cols), squeeze=False)
    for i in range(n):
        grey = _grey(images[i])
        panels = [np.repeat(grey[..., None], 3, axis=2), _blend(grey, true_masks[i], alpha)]
        if pred_masks is not None:
            panels.append(_blend(grey, pred_masks[i], alpha))
        if show_errors:
            panels.append((to_numpy(pred_masks[i]) != to_numpy(true_masks[i])).astype(np.float32))
        for j, (ax, panel) in enumerate(zip(axes[i], panels)):
            ax.imshow(panel, cmap="gray" if panel.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(cols[j], fontsize=9)
        if row_titles is not None:
            axes[i, 0].set_ylabel(str(row_titles[i]), fontsize=8)
    handles = [Patch(facecolor=c, edgecolor="0.5", label=name) for c, name in zip(SEG_PALETTE, class_names)]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=7, frameon=False,
               handlelength=1.2, columnspacing=1.0)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout(rect=(0, legend_h / fig.get_figheight(), 1, 1))
    return fig


def confusion_heatmap(cm: torch.Tensor | np.ndarray, *, class_names: Sequence[str], title: str | None = None,
                      size: tuple[float, float] = (6, 5)) -> Figure:
    """Row-normalised confusion matrix (rows = true class, each row sums to 1) with the values written in.

    Args:
        cm: ``(C, C)`` counts, ``cm[t, p]`` = pixels of true class t predicted as p
            (:func:`pt_helpers.metrics.confusion_matrix`).
        class_names: C names.
    """
    m = to_numpy(cm).astype(np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion_heatmap(cm): expected a (C, C) matrix, got shape {m.shape}")
    if len(class_names) != m.shape[0]:
        raise ValueError(f"confusion_heatmap(class_names): expected {m.shape[0]} names, got {len(class_names)}")
    rows = m.sum(1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    fig = Figure(figsize=size)
    ax = fig.subplots()
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for (r, c), v in np.ndenumerate(norm):
        if v >= 0.01:
            text = f"{v:.2f}"  # 0.997 rounds to "1.00": write "1", else drop the leading zero
            ax.text(c, r, "1" if text == "1.00" else text.lstrip("0"), ha="center", va="center", fontsize=6,
                    color="white" if v > 0.5 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig
