"""Checkers for notebooks/09_voc_eval.ipynb: IoU with the +1 convention, a matching table by hand,
precision/recall from TP/FP flags, and the VOC2007 11-point AP."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..voc import box_iou, match_detections, voc_ap
from .core import ExerciseError, call_learner, checker, passed, require_answer

__all__ = ["MATCH_EXAMPLE", "check_iou_plus_one", "check_match_labels", "check_precision_recall",
           "check_ap_11_point"]

# One image, three ground-truth boxes of class "bag" (the last one difficult) and six detections
# (image_id, score, x1, y1, x2, y2). The learner labels each detection, by descending score.
MATCH_EXAMPLE: dict[str, Any] = {
    "annotations": {"img": [
        {"name": "bag", "bbox": [10, 10, 29, 29], "difficult": False},
        {"name": "bag", "bbox": [40, 10, 59, 29], "difficult": False},
        {"name": "bag", "bbox": [10, 40, 19, 49], "difficult": True},
    ]},
    "detections": [
        ("img", 0.55, 41, 12, 60, 31),
        ("img", 0.95, 11, 11, 30, 30),
        ("img", 0.40, 10, 40, 19, 49),
        ("img", 0.80, 12, 10, 31, 29),
        ("img", 0.70, 30, 30, 45, 45),
        ("img", 0.20, 40, 10, 47, 29),
    ],
}


def _as_float(value: Any, name: str, what: str) -> float:
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        try:
            value = value.item()  # a 0-d or one-element NumPy array or tensor
        except (ValueError, RuntimeError):
            raise ExerciseError(f"{name}: {what} should be one number, got an array") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExerciseError(f"{name}: {what} should be one number, got {type(value).__name__}")
    return float(value)


@checker
def check_iou_plus_one(fn: Callable) -> None:
    """``fn(a, b) -> float``: IoU of two VOC boxes ``(x1, y1, x2, y2)`` of inclusive pixel indices."""
    name = "iou_plus_one"
    cases = [((0, 0, 9, 9), (0, 0, 9, 9)), ((0, 0, 9, 9), (5, 0, 14, 9)), ((0, 0, 9, 9), (9, 9, 18, 18)),
             ((0, 0, 9, 9), (20, 20, 29, 29)), ((2, 3, 7, 5), (0, 0, 20, 20)), ((4, 4, 4, 4), (4, 4, 4, 4)),
             ((10, 5, 40, 25), (20, 0, 35, 30)), ((0, 0, 9, 9), (10, 0, 19, 9))]
    for a, b in cases:
        want = float(box_iou(np.array([a]), np.array([b]))[0, 0])
        got = _as_float(call_learner(fn, name, a, b), name, f"iou_plus_one({a}, {b})")
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):  # float32 answers are fine
            continue
        no_plus = float(box_iou(np.array([a]), np.array([b]), pixel_offset=0.0)[0, 0])
        if got < 0 or want == 0:
            hint = "these boxes do not overlap: clamp the intersection's width and height at 0"
        elif math.isclose(got, no_plus, rel_tol=1e-6, abs_tol=1e-9):
            hint = "that is the IoU without the +1: a box x1..x2 covers x2 - x1 + 1 pixels"
        else:
            hint = "check the intersection (max of the x1s, min of the x2s, +1) and the union (area A + area B - inter)"
        raise ExerciseError(f"{name}: A={a}, B={b} gives {got:.4f}, which is not right; {hint}")
    passed(name, f"{len(cases)} box pairs, touching and one-pixel boxes included")


@checker
def check_match_labels(labels: Any) -> None:
    """``labels``: one of "TP", "FP", "ignored" per detection of MATCH_EXAMPLE, by descending score."""
    name = "match_labels"
    labels = require_answer(labels, name)
    m = match_detections(MATCH_EXAMPLE["detections"], MATCH_EXAMPLE["annotations"], "bag")
    want = ["ignored" if ig else ("TP" if tp else "FP") for tp, ig in zip(m["tp"], m["ignored"])]
    if not isinstance(labels, (list, tuple)) or len(labels) != len(want):
        raise ExerciseError(f"{name}: give a list of {len(want)} labels, one per detection, highest score first")
    got = [str(x).strip() for x in labels]
    unknown = sorted({x for x in got if x not in ("TP", "FP", "ignored")})
    if unknown:
        raise ExerciseError(f"{name}: use only 'TP', 'FP' and 'ignored', not {unknown}")
    scores = sorted((d[1] for d in MATCH_EXAMPLE["detections"]), reverse=True)
    for rank, (g, w, score) in enumerate(zip(got, want, scores), start=1):
        if g != w:
            raise ExerciseError(f"{name}: rank {rank} (score {score}) is not {g!r}. Which box does it overlap most, "
                                "is that IoU >= 0.5 (the devkit's rule), is that box difficult, and did a "
                                "higher-scored detection take it already?")
    passed(name, "the devkit's greedy matching, by hand")


@checker
def check_precision_recall(fn: Callable) -> None:
    """``fn(tp, fp, npos) -> (rec, prec)`` from 0/1 flags in descending-score order (devkit rules)."""
    name = "precision_recall"
    cases = [([1, 0, 1, 0], [0, 1, 0, 1], 2), ([0, 1, 0], [0, 0, 1], 1), ([0, 0, 1, 1, 0], [1, 0, 0, 0, 1], 5),
             ([1, 1, 1], [0, 0, 0], 4)]
    for tp, fp, npos in cases:
        tp_a, fp_a = np.array(tp, dtype=float), np.array(fp, dtype=float)
        ctp, cfp = np.cumsum(tp_a), np.cumsum(fp_a)
        want_rec = ctp / npos
        want_prec = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        out = call_learner(fn, name, tp_a.copy(), fp_a.copy(), npos)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ExerciseError(f"{name}: return a pair (rec, prec)")
        rec, prec = (np.asarray(x, dtype=float) for x in out)
        if rec.shape != want_rec.shape or prec.shape != want_prec.shape:
            raise ExerciseError(f"{name}: rec and prec need one value per detection ({len(tp)}), got shapes "
                                f"{rec.shape} and {prec.shape}")
        if np.isnan(prec).any():
            raise ExerciseError(f"{name}: tp={tp}, fp={fp} gives NaN precision where TP + FP = 0 (the first detection "
                                "was ignored): divide by max(TP + FP, np.finfo(np.float64).eps) as the devkit does")
        if not np.allclose(rec, want_rec):
            raise ExerciseError(f"{name}: tp={tp}, npos={npos}: recall is wrong; recall = cumulative TP / npos")
        if not np.allclose(prec, want_prec):
            raise ExerciseError(f"{name}: tp={tp}, fp={fp}: precision is wrong; precision = cumulative TP / "
                                "(cumulative TP + cumulative FP)")
    passed(name, "cumulative sums, and no 0 / 0 when the first detections are ignored")


@checker
def check_ap_11_point(fn: Callable) -> None:
    """``fn(rec, prec) -> float``: VOC2007 AP, the mean over t = 0, 0.1, ..., 1 of max precision at recall >= t."""
    name = "ap_11_point"
    rng = np.random.default_rng(9)
    curves = [(np.array([1 / 3, 1 / 3, 2 / 3, 1.0]), np.array([1.0, 0.5, 2 / 3, 0.75]))]
    for npos in (7, 9, 13):  # recalls k / npos never land exactly on a threshold t
        hits = rng.random(20) < 0.55
        ctp = np.cumsum(hits)
        curves.append((ctp / npos if ctp[-1] <= npos else ctp / ctp[-1], ctp / np.arange(1, 21)))
    curves.append((np.array([1 / 7, 2 / 7, 2 / 7]), np.array([1.0, 1.0, 2 / 3])))  # recall stops at 2/7
    for rec, prec in curves:
        want = voc_ap(rec, prec, use_07_metric=True)
        got = _as_float(call_learner(fn, name, rec.copy(), prec.copy()), name, "the AP")
        if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            continue
        if math.isclose(got, voc_ap(rec, prec), rel_tol=1e-9):
            hint = "that is the area under the envelope (VOC2010+), not the 11-point mean"
        elif rec.max() < 1 and got > want:
            hint = "where no detection reaches recall t, that sample counts as precision 0"
        else:
            hint = ("for each t in 0, 0.1, ..., 1 take the MAX precision over the points with recall >= t, "
                    "then average the 11 numbers")
        raise ExerciseError(f"{name}: a curve with final recall {rec[-1]:.3f} gives {got:.4f}, not the VOC2007 "
                            f"value; {hint}")
    passed(name, f"{len(curves)} curves, one that never reaches recall 1")
