"""A perturbed ground-truth "oracle" detector: known boxes, damaged in controlled ways.

Taught in notebooks/09_voc_eval.ipynb, where it is the contrast to the U-Net's boxes, and used by
benchmarks/bench_voc_eval.py. Every knob maps to one thing the VOC metric punishes: jitter (IoU
drops under the threshold), misses (recall), duplicates and background boxes (false positives),
wrong labels (a FP for one class and a miss for another).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["perturbed_oracle"]


def perturbed_oracle(boxes: Sequence[Any], labels: Sequence[Any], n_classes: int, *, size: int,
                     jitter: float = 0.1, miss: float = 0.1, duplicate: float = 0.1, wrong_class: float = 0.05,
                     false_positives: float = 0.5, seed: int = 0) -> list[list[np.ndarray]]:
    """Detections in the ``all_boxes[class][image]`` format from ground-truth boxes.

    Args:
        boxes: per image a ``(K, 4)`` array of boxes ``x1, y1, x2, y2`` (any pixel frame; the output
            uses the same one); labels: per image ``(K,)`` ints in ``1..n_classes-1``.
        n_classes: number of classes including background 0.
        size: image side, for background false positives and clipping.
        jitter: standard deviation of each coordinate's noise, as a fraction of the box side.
        miss: probability an object gets no detection; duplicate: probability of a second, noisier,
            lower-scored detection; wrong_class: probability the label is replaced by another class.
        false_positives: mean number (Poisson) of random background boxes per image.
        seed: the same seed gives the same detections.
    Returns:
        ``all_boxes[c][i]``: ``(#dets, 5)`` float64 ``x1, y1, x2, y2, score``; ``all_boxes[0]`` empty.
        Scores fall with the jitter actually drawn, so better boxes tend to rank first.
    """
    if len(boxes) != len(labels):
        raise ValueError(f"perturbed_oracle: {len(boxes)} box arrays but {len(labels)} label arrays")
    if n_classes < 2:
        raise ValueError(f"perturbed_oracle(n_classes={n_classes}): expected >= 2 (background + a class)")
    for name, p in (("miss", miss), ("duplicate", duplicate), ("wrong_class", wrong_class)):
        if not 0 <= p <= 1:
            raise ValueError(f"perturbed_oracle({name}={p}): expected a probability in [0, 1]")
    rng = np.random.default_rng(seed)
    rows: list[list[list[list[float]]]] = [[[] for _ in boxes] for _ in range(n_classes)]

    def add(i: int, c: int, box: np.ndarray, spread: float, score_scale: float) -> None:
        side = np.array([box[2] - box[0] + 1, box[3] - box[1] + 1] * 2)
        noise = rng.normal(0.0, spread, size=4)
        b = np.clip(box + noise * side, 0, size - 1)
        b[2:] = np.maximum(b[2:], b[:2])
        score = score_scale * float(np.exp(-np.abs(noise).mean() / max(spread, 1e-9) / 2)) * rng.uniform(0.7, 1.0)
        rows[c][i].append([*b.tolist(), score])

    for i, (bx, lb) in enumerate(zip(boxes, labels)):
        bx = np.asarray(bx, dtype=np.float64).reshape(-1, 4)
        lb = np.asarray(lb).reshape(-1)
        for box, c in zip(bx, lb.tolist()):
            if not 0 < c < n_classes:
                raise ValueError(f"perturbed_oracle: image {i} has label {c}, expected 1..{n_classes - 1}")
            if rng.random() < miss:
                continue
            if rng.random() < wrong_class:
                c = int(rng.choice([k for k in range(1, n_classes) if k != c] or [c]))
            add(i, c, box, jitter, 1.0)
            if rng.random() < duplicate:
                add(i, c, box, 2 * jitter, 0.6)
        for _ in range(rng.poisson(false_positives)):
            w, h = rng.uniform(0.1, 0.4, size=2) * size
            x, y = rng.uniform(0, size - w), rng.uniform(0, size - h)
            rows[int(rng.integers(1, n_classes))][i].append([x, y, x + w, y + h, rng.uniform(0.0, 0.6)])
    return [[np.asarray(r, dtype=np.float64).reshape(-1, 5) if c else np.zeros((0, 5)) for r in row]
            for c, row in enumerate(rows)]
