"""Segmentation explorer: step through test canvases, image | truth | prediction | errors, one class highlighted.

Taught in notebooks/07_unet.ipynb (sections 5 and 9: IoU per class, best and worst test canvases). The figure
is :func:`pt_helpers.plot.seg.mask_overlays` for one canvas (its colours, overlays and legend) with the chosen
class highlighted on top: the other pixels dimmed in truth and prediction, and in the errors panel the class's
hits in its colour, its missed pixels white and its false pixels grey, titled with that canvas' IoU for it.
:func:`class_pixels` and :func:`canvas_scores` compute (with :mod:`pt_helpers.metrics`),
:func:`segmentation_figure` draws, :func:`segmentation_explorer` is the widget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.colors as mcolors
import numpy as np
import torch
from matplotlib.figure import Figure

from pt_helpers.metrics import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from pt_helpers.plot.seg import SEG_PALETTE, mask_overlays

from .widget import ExplorerBox, figure_png

__all__ = ["class_pixels", "canvas_scores", "segmentation_figure", "segmentation_explorer"]

ArrayLike = torch.Tensor | np.ndarray


def _labels(mask: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(mask)
    if t.ndim != 2 or t.is_floating_point() or t.dtype == torch.bool:
        raise ValueError(f"{name}: expected (H, W) integer class indices, got {tuple(t.shape)} {t.dtype}")
    return t.long()


def class_pixels(true_mask: ArrayLike, pred_mask: ArrayLike, k: int) -> dict[str, torch.Tensor]:
    """Where class ``k`` is hit, missed and falsely predicted: three ``(H, W)`` bool masks.

    ``hit`` = truly k and predicted k (TP), ``missed`` = truly k, predicted something else (FN),
    ``false`` = predicted k, truly something else (FP); the class's IoU is hit / (hit + missed + false).
    """
    t, p = _labels(true_mask, "class_pixels(true_mask)"), _labels(pred_mask, "class_pixels(pred_mask)")
    if t.shape != p.shape:
        raise ValueError(f"class_pixels: true_mask {tuple(t.shape)} and pred_mask {tuple(p.shape)} differ")
    return {"hit": (t == k) & (p == k), "missed": (t == k) & (p != k), "false": (t != k) & (p == k)}


def canvas_scores(true_mask: ArrayLike, pred_mask: ArrayLike, num_classes: int) -> dict[str, float | torch.Tensor]:
    """One canvas' scores from its confusion matrix (:mod:`pt_helpers.metrics`).

    Returns:
        ``{"iou": (C,) float64 tensor, NaN for a class in neither mask, "miou": float, "pixel_acc": float}``.
    """
    t, p = _labels(true_mask, "canvas_scores(true_mask)"), _labels(pred_mask, "canvas_scores(pred_mask)")
    cm = confusion_matrix(p, t, num_classes)
    return {"iou": iou_per_class(cm), "miou": float(mean_iou(cm)), "pixel_acc": float(pixel_accuracy(cm))}


def _rgba(where: np.ndarray, colour: tuple[float, ...], alpha: float) -> np.ndarray:
    """An (H, W, 4) layer: ``colour`` with opacity ``alpha`` where ``where`` is true, transparent elsewhere."""
    layer = np.zeros((*where.shape, 4), dtype=np.float32)
    layer[where] = (*colour[:3], alpha)
    return layer


def segmentation_figure(images: ArrayLike, masks: ArrayLike, preds: ArrayLike, *, class_names: Sequence[str],
                        index: int = 0, highlight: int | None = None, size: float = 2.0) -> Figure:
    """Canvas ``index``: image | true mask | predicted mask | errors, with class ``highlight`` picked out.

    Args:
        images: ``(N, 1, H, W)`` or ``(N, H, W)`` grey canvases (any range); masks, preds: ``(N, H, W)`` class
            indices (e.g. ``test_set.masks`` and ``model(x).argmax(1)``).
        class_names: one per class, as :func:`pt_helpers.plot.seg.mask_overlays` wants (``CANVAS_CLASSES``).
        index: which canvas. highlight: a class index, or None for the plain view.
    Returns:
        The figure; its title names the canvas, its mIoU and pixel accuracy; with ``highlight`` the errors
        panel is titled with the class's IoU on this canvas and its pixel counts.
    """
    n = len(images)
    if not 0 <= index < n:
        raise ValueError(f"segmentation_figure(index={index}): expected 0..{n - 1}")
    if highlight is not None and not 0 <= highlight < len(class_names):
        raise ValueError(f"segmentation_figure(highlight={highlight}): expected None or 0..{len(class_names) - 1}")
    truth, pred = _labels(masks[index], "masks[index]"), _labels(preds[index], "preds[index]")
    scores = canvas_scores(truth, pred, len(class_names))
    sl = slice(index, index + 1)
    title = f"canvas #{index}: mIoU {scores['miou']:.2f}, pixel accuracy {scores['pixel_acc']:.2f}"
    fig = mask_overlays(images[sl], masks[sl], preds[sl], class_names=class_names, show_errors=True, size=size,
                        suptitle=title)
    if highlight is None:
        return fig
    ax_truth, ax_pred, ax_err = fig.axes[1:4]
    for ax, mask in ((ax_truth, truth), (ax_pred, pred)):
        ax.imshow(_rgba((mask != highlight).numpy(), (0.0, 0.0, 0.0), 0.7), interpolation="nearest")
    px = {k: v.numpy() for k, v in class_pixels(truth, pred, highlight).items()}
    panel = np.zeros((*truth.shape, 3), dtype=np.float32)  # black where the class plays no part
    for key, colour in (("hit", mcolors.to_rgb(SEG_PALETTE[highlight])), ("missed", (1.0, 1.0, 1.0)),
                        ("false", (0.5, 0.5, 0.5))):
        panel[px[key]] = colour
    ax_err.imshow(panel, interpolation="nearest")  # drawn over the panel's all-class errors
    iou = scores["iou"][highlight].item()
    counts = {k: int(v.sum()) for k, v in px.items()}
    name = class_names[highlight]
    ax_err.set_title(f"{name}: IoU {'absent' if math.isnan(iou) else f'{iou:.2f}'}", fontsize=9)
    ax_err.set_xlabel(f"hit {counts['hit']} (colour) · missed {counts['missed']} (white)\n"
                      f"false {counts['false']} (grey)", fontsize=7)
    return fig


def segmentation_explorer(images: ArrayLike, masks: ArrayLike, preds: ArrayLike, *,
                          class_names: Sequence[str]) -> ExplorerBox:
    """The segmentation browser of lesson 07: step through canvases, pick a class to highlight.

    Args: as :func:`segmentation_figure` (all N canvases; the widget shows one at a time).
    Returns:
        A ``VBox``: ``Button`` s "previous" and "next", an ``IntSlider`` "canvas", a ``Dropdown`` "class"
        (``None`` = no highlight, else a class index), an ``HTML`` line with the canvas' scores, and an ``Image``
        with the PNG of :func:`segmentation_figure`. Each change redraws the image.
    """
    n = len(images)
    if n == 0 or len(masks) != n or len(preds) != n:
        raise ValueError(f"segmentation_explorer: {n} images, {len(masks)} masks and {len(preds)} predictions; "
                         "expected the same number, at least one")
    back = widgets.Button(description="previous", icon="arrow-left", layout=widgets.Layout(width="110px"))
    forward = widgets.Button(description="next", icon="arrow-right", layout=widgets.Layout(width="110px"))
    canvas = widgets.IntSlider(value=0, min=0, max=n - 1, description="canvas", continuous_update=False)
    options = [("none", None)] + [(f"{k}: {name}", k) for k, name in enumerate(class_names)]
    chosen = widgets.Dropdown(options=options, value=None, description="class")
    line = widgets.HTML()
    picture = widgets.Image(format="png")

    def redraw(_change: object = None) -> None:
        i, k = canvas.value, chosen.value
        fig = segmentation_figure(images, masks, preds, class_names=class_names, index=i, highlight=k)
        scores = canvas_scores(masks[i], preds[i], len(class_names))
        text = f"canvas {i} of {n}: mIoU {scores['miou']:.3f}"
        if k is not None:
            iou = scores["iou"][k].item()
            text += f" | {class_names[k]}: IoU {'absent' if math.isnan(iou) else f'{iou:.3f}'}"
        line.value = text
        picture.value = figure_png(fig)

    back.on_click(lambda _b: setattr(canvas, "value", max(canvas.value - 1, 0)))
    forward.on_click(lambda _b: setattr(canvas, "value", min(canvas.value + 1, n - 1)))
    canvas.observe(redraw, names="value")
    chosen.observe(redraw, names="value")
    redraw()
    return ExplorerBox([widgets.HBox([back, forward, canvas, chosen]), line, picture], title="Segmentation explorer")
