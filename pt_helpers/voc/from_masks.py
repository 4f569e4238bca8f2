"""Boxes from a segmentation network: connected components of the predicted mask, one box each.

Taught in notebooks/09_voc_eval.ipynb, where lesson 07's U-Net becomes a (weak) detector so that
the VOC metric has real detections to score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

__all__ = ["detections_from_probs"]


def detections_from_probs(probs: Any, *, min_pixels: int = 4, connectivity: int = 2,
                          background: int = 0) -> list[np.ndarray]:
    """Per-class detections from one image's class probabilities.

    Each pixel takes its most probable class; each connected component (``scipy.ndimage.label``) of
    a non-background class becomes a box around it, scored by the mean probability of that class over
    the component's pixels. Touching items of the same class merge into one component: a limit of
    using semantic segmentation as a detector.

    Args:
        probs: ``(C, H, W)`` probabilities (softmax over the C classes), NumPy or torch.
        min_pixels: components smaller than this are dropped (speckle).
        connectivity: 1 = 4-neighbours, 2 = 8-neighbours (diagonal pixels connect).
        background: the class index that yields no boxes.
    Returns:
        A list of C arrays ``(#dets, 5)`` float64 ``x1, y1, x2, y2, score`` with 0-based inclusive
        pixel boxes (the background entry is empty): one image's column of ``all_boxes``.
    """
    p = np.asarray(probs.detach().cpu() if hasattr(probs, "detach") else probs, dtype=np.float64)
    if p.ndim != 3:
        raise ValueError(f"detections_from_probs: probs must be (C, H, W), got shape {p.shape}")
    if connectivity not in (1, 2):
        raise ValueError(f"detections_from_probs(connectivity={connectivity!r}): expected 1 or 2")
    structure = ndimage.generate_binary_structure(2, connectivity)
    winner = p.argmax(0)
    out = []
    for c in range(p.shape[0]):
        dets = np.zeros((0, 5))
        if c != background:
            comp, n = ndimage.label(winner == c, structure=structure)
            if n:
                ids = np.arange(1, n + 1)
                sizes = np.bincount(comp.ravel(), minlength=n + 1)[1:]
                scores = np.asarray(ndimage.mean(p[c], comp, ids))
                boxes = [(s[1].start, s[0].start, s[1].stop - 1, s[0].stop - 1) for s in ndimage.find_objects(comp)]
                keep = sizes >= min_pixels
                dets = np.column_stack([np.asarray(boxes, dtype=np.float64), scores])[keep]
        out.append(dets)
    return out
