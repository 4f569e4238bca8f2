"""Figures for lesson 09: boxes on images, IoU on a pixel grid, a PR curve with both AP metrics.

Taught in notebooks/09_voc_eval.ipynb. Like every figure in :mod:`pt_helpers.plot`, each function builds
a matplotlib ``Figure`` without pyplot and returns it (a notebook shows it as the cell's last value).
Boxes are inclusive pixel boxes: a box ``x1..x2`` covers pixel centres x1..x2, so it is drawn from
``x1 - 0.5`` to ``x2 + 0.5``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..voc import precision_envelope, voc_ap
from .image import to_image

__all__ = ["boxes_figure", "iou_figure", "pr_figure", "ap_bars"]


def _rect(ax: Any, box: Sequence[float], **kw: Any) -> None:
    x1, y1, x2, y2 = (float(v) for v in box)
    ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1 + 1, y2 - y1 + 1, fill=False, **kw))


def _natural_key(handle: Any) -> list[Any]:
    """Sort key of a legend entry: its label, with runs of digits compared as numbers ("#2" < "#10")."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", handle.get_label())]


def boxes_figure(images: Sequence[Any], *, gt: Sequence[Sequence[dict]] | None = None,
                 detections: Sequence[Sequence[tuple]] | None = None, titles: Sequence[str] | None = None,
                 legend: bool = False, size: float = 2.6) -> Figure:
    """Images with ground truth (green; dashed = difficult) and detections (orange, with a label).

    Args:
        images: ``(H, W)`` or ``(1, H, W)`` arrays/tensors (grey).
        gt: per image a list of ``{"bbox", "name", "difficult"}`` in the image's pixel frame.
        detections: per image a list of ``(box, text)`` pairs.
        legend: give each detection its own colour and put the texts in a legend below the images
            (for a few, overlapping boxes; sorted by text) instead of writing them beside the boxes.
    """
    n = len(images)
    colours = itertools.cycle(["#ff7f0e", "#1f77b4", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"])
    fig = Figure(figsize=(size * n, size * (1.35 if legend else 1.08)), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    handles = []
    for k, ax in enumerate(axes):
        img = to_image(images[k])  # (H, W): values as they are, black at 0, white at the image's maximum
        ax.imshow(img, cmap="gray", vmin=0, vmax=img.max() or 1)
        for box, text in (detections[k] if detections else []):
            colour = next(colours) if legend else "#ff7f0e"
            x1, y1, x2, y2 = (float(v) for v in box)
            patch = Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1 + 1, y2 - y1 + 1, fill=False, edgecolor=colour,
                              linewidth=1.3, label=text)
            ax.add_patch(patch)
            if legend:
                handles.append(patch)
            else:
                ax.text(x2 + 0.5, y2 + 0.5, text, color=colour, fontsize=7, ha="right", va="top")
        for o in (gt[k] if gt else []):  # on top of the detections, so a difficult (dashed) box stays visible
            _rect(ax, o["bbox"], edgecolor="#2ca02c", linewidth=1.6, linestyle="--" if o.get("difficult") else "-",
                  zorder=3)
            ax.text(o["bbox"][0] - 0.5, o["bbox"][1] - 1, o.get("name", ""), color="#2ca02c", fontsize=7,
                    va="bottom")
        ax.set_axis_off()
        if titles:
            ax.set_title(titles[k], fontsize=8)
    if handles:
        handles.sort(key=_natural_key)  # e.g. "#2 ...", "#10 ...": in rank order
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=7, frameon=False)
    return fig


def iou_figure(box_a: Sequence[float], box_b: Sequence[float], *, title: str | None = None) -> Figure:
    """Two inclusive pixel boxes on a pixel grid, their shared pixels shaded."""
    a, b = np.asarray(box_a, dtype=int), np.asarray(box_b, dtype=int)
    lo, hi = np.minimum(a[:2], b[:2]) - 1, np.maximum(a[2:], b[2:]) + 1
    fig = Figure(figsize=(3.6, 3.6 * (hi[1] - lo[1] + 1) / (hi[0] - lo[0] + 1) + 0.3), layout="constrained")
    ax = fig.subplots()
    ix1, iy1, ix2, iy2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if ix2 >= ix1 and iy2 >= iy1:
        ax.add_patch(Rectangle((ix1 - 0.5, iy1 - 0.5), ix2 - ix1 + 1, iy2 - iy1 + 1, color="#9467bd", alpha=0.35))
    _rect(ax, a, edgecolor="#2ca02c", linewidth=2, label=f"A {a.tolist()}")
    _rect(ax, b, edgecolor="#ff7f0e", linewidth=2, label=f"B {b.tolist()}")
    ax.set_xticks(np.arange(lo[0], hi[0] + 1))
    ax.set_yticks(np.arange(lo[1], hi[1] + 1))
    ax.set_xticks(np.arange(lo[0], hi[0] + 2) - 0.5, minor=True)
    ax.set_yticks(np.arange(lo[1], hi[1] + 2) - 0.5, minor=True)
    ax.grid(which="minor", color="#ccc", linewidth=0.5)
    ax.tick_params(labelsize=6, which="both", length=0)
    ax.set_xlim(lo[0] - 0.5, hi[0] + 0.5)
    ax.set_ylim(hi[1] + 0.5, lo[1] - 0.5)  # image convention: y grows downwards
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or "pixels in A ∩ B shaded", fontsize=9)
    return fig


def pr_figure(rec: np.ndarray, prec: np.ndarray, *, title: str = "", size: tuple[float, float] = (8, 3.4)) -> Figure:
    """The same PR curve twice: area under the envelope (VOC2010+) and 11-point sampling (VOC2007).

    The envelope drawn is :func:`pt_helpers.voc.precision_envelope`, the curve ``voc_ap`` integrates.
    """
    rec, prec = np.asarray(rec, dtype=float), np.asarray(prec, dtype=float)
    mrec, env = precision_envelope(rec, prec)
    fig = Figure(figsize=size, layout="constrained")
    ax_area, ax_11 = fig.subplots(1, 2, sharey=True)
    for ax in (ax_area, ax_11):
        ax.plot(rec, prec, "o", ms=3, color="#1f77b4", label="(recall, precision) per detection")
        ax.step(mrec, env, where="pre", color="#d62728", lw=1.5, label="envelope")
        ax.set_xlabel("recall")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.05)
    ax_area.fill_between(mrec, env, step="pre", color="#d62728", alpha=0.15)
    ax_area.set_ylabel("precision")
    ax_area.set_title(f"VOC2010+: area = {voc_ap(rec, prec):.4f}", fontsize=9)
    ts = np.arange(0.0, 1.1, 0.1)
    ps = [prec[rec >= t].max() if (rec >= t).any() else 0.0 for t in ts]
    ax_11.vlines(ts, 0, ps, color="#2ca02c", lw=1)
    ax_11.plot(ts, ps, "s", color="#2ca02c", ms=4, label="11 samples (max precision at recall ≥ t)")
    ax_11.set_title(f"VOC2007: mean of 11 samples = {voc_ap(rec, prec, use_07_metric=True):.4f}", fontsize=9)
    for ax in (ax_area, ax_11):
        ax.legend(fontsize=7, loc="best")  # away from the points (a weak class has them all near the origin)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def ap_bars(series: dict[str, dict[str, float]], *, title: str = "", ylabel: str = "AP",
            size: tuple[float, float] = (8, 3.2)) -> Figure:
    """Grouped bars: ``series[name][class] = AP`` (one colour per series, classes on the x axis)."""
    names = list(series)
    classes = list(series[names[0]])
    x = np.arange(len(classes))
    width = 0.8 / len(names)
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    for k, name in enumerate(names):
        vals = [series[name].get(c, np.nan) for c in classes]
        mean = np.nanmean(vals)
        ax.bar(x + (k - (len(names) - 1) / 2) * width, vals, width, label=f"{name} (mean {mean:.3f})")
    ax.set_xticks(x, classes, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
