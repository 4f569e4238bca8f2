"""Two per-detection loops that :func:`pt_helpers.voc.voc_eval` is checked and timed against.

Taught in notebooks/09_voc_eval.ipynb. :func:`voc_eval_loop` and :func:`voc_ap_loop` are py-faster-rcnn's
``voc_eval.py``, the code the source note (note A) walks through (NumPy on each detection's boxes), line for
line (Bharath Hariharan's code, MIT licence), with in-memory inputs instead of file templates and only these
changes, so that it runs today and can be compared with :func:`pt_helpers.voc.voc_eval`:

- ``np.bool`` -> ``bool`` (``np.bool`` raised AttributeError on NumPy 1.24-1.26);
- the sort is stable (``np.argsort(-confidence, kind="stable")``): the original's default sort
  orders equal scores arbitrarily;
- ``pixel_offset`` replaces the literal ``1.``; no detections gives empty arrays (the original
  crashes indexing an empty ``BB``); the ``eps`` guard on precision of later versions is kept.

Both loops keep py-faster-rcnn's match rule, ``ovmax > ovthresh``: they equal
``voc_eval(..., match="py-faster-rcnn")``. ``voc_eval``'s default is the official MATLAB devkit's
``ovmax >= minoverlap``, which differs when an IoU equals the threshold exactly.

A class without positives still divides by zero here, as in the original (NumPy warns, recall is
inf/NaN).

:func:`voc_eval_python` is the same loop in plain Python: scalar IoU on floats, no NumPy call per
detection (NumPy only for the cumulative sums and AP, once per class). It is the fairer baseline for a
speed-up: a NumPy call on a handful of boxes costs more than the arithmetic it does. Use both to check
results, not to evaluate (benchmarks/bench_voc_eval.py times them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .metric import Detections, voc_ap

__all__ = ["voc_ap_loop", "voc_eval_loop", "voc_eval_python"]


def voc_ap_loop(rec: np.ndarray, prec: np.ndarray, use_07_metric: bool = False) -> float:
    """The original ``voc_ap``: 11-point metric, or the envelope built by a backwards loop."""
    if use_07_metric:
        # 11 point metric
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            if np.sum(rec >= t) == 0:
                p = 0
            else:
                p = np.max(prec[rec >= t])
            ap = ap + p / 11.0
    else:
        # correct AP calculation
        # first append sentinel values at the end
        mrec = np.concatenate(([0.0], rec, [1.0]))
        mpre = np.concatenate(([0.0], prec, [0.0]))

        # compute the precision envelope
        for i in range(mpre.size - 1, 0, -1):
            mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])

        # to calculate area under PR curve, look for points
        # where X axis (recall) changes value
        i = np.where(mrec[1:] != mrec[:-1])[0]

        # and sum (\Delta recall) * prec
        ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
    return float(ap)


def voc_eval_loop(detections: Detections | Sequence[Sequence[Any]], annotations: Mapping[str, Any], classname: str, *,
                  iou_thresh: float = 0.5, use_07_metric: bool = False,
                  pixel_offset: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Same arguments and results as ``voc_eval(..., match="py-faster-rcnn")``, one detection at a time."""
    off = float(pixel_offset)
    # extract gt objects for this class
    class_recs = {}
    npos = 0
    for imagename, entry in annotations.items():
        objects = entry["objects"] if isinstance(entry, Mapping) else entry
        R = [obj for obj in objects if obj["name"] == classname]
        bbox = np.array([x["bbox"] for x in R])
        difficult = np.array([x["difficult"] for x in R]).astype(bool)
        det = [False] * len(R)
        npos = npos + sum(~difficult)
        class_recs[imagename] = {"bbox": bbox, "difficult": difficult, "det": det}

    if isinstance(detections, Detections):  # already in columns: what the original has after reading its file
        image_ids, confidence, BB = list(detections.image_ids), detections.scores, detections.boxes
    else:
        image_ids = [x[0] for x in detections]
        confidence = np.array([float(x[1]) for x in detections])
        BB = np.array([[float(z) for z in x[2:]] for x in detections]).reshape(-1, 4)

    # sort by confidence
    sorted_ind = np.argsort(-confidence, kind="stable")
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]

    # go down dets and mark TPs and FPs
    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R["bbox"].astype(float)

        if BBGT.size > 0:
            # compute overlaps
            # intersection
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin + off, 0.0)
            ih = np.maximum(iymax - iymin + off, 0.0)
            inters = iw * ih

            # union
            uni = ((bb[2] - bb[0] + off) * (bb[3] - bb[1] + off)
                   + (BBGT[:, 2] - BBGT[:, 0] + off) * (BBGT[:, 3] - BBGT[:, 1] + off) - inters)

            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)

        if ovmax > iou_thresh:
            if not R["difficult"][jmax]:
                if not R["det"][jmax]:
                    tp[d] = 1.0
                    R["det"][jmax] = 1
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0

    # compute precision recall
    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    rec = tp / float(npos)
    # avoid divide by zero in case the first detection matches a difficult ground truth
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    ap = voc_ap_loop(rec, prec, use_07_metric)
    return rec, prec, ap


def voc_eval_python(detections: Detections | Sequence[Sequence[Any]], annotations: Mapping[str, Any], classname: str, *,
                    iou_thresh: float = 0.5, use_07_metric: bool = False,
                    pixel_offset: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Same arguments and results as ``voc_eval(..., match="py-faster-rcnn")``: its loop with scalar IoU."""
    off = float(pixel_offset)
    class_recs, npos = {}, 0  # image -> (boxes, difficult flags, taken flags) of the class
    for imagename, entry in annotations.items():
        objects = entry["objects"] if isinstance(entry, Mapping) else entry
        R = [obj for obj in objects if obj["name"] == classname]
        difficult = [bool(obj["difficult"]) for obj in R]
        class_recs[imagename] = ([obj["bbox"] for obj in R], difficult, [False] * len(R))
        npos += difficult.count(False)

    if isinstance(detections, Detections):
        rows = list(zip(detections.image_ids, detections.scores.tolist(), detections.boxes.tolist()))
    else:
        rows = [(d[0], float(d[1]), d[2:]) for d in detections]
    rows.sort(key=lambda r: -r[1])  # by descending score; sort is stable: ties keep their input order

    tp, fp = [0.0] * len(rows), [0.0] * len(rows)
    for d, (imagename, _, (x1, y1, x2, y2)) in enumerate(rows):
        boxes, difficult, taken = class_recs[imagename]
        ovmax, jmax = -math.inf, -1
        area = (x2 - x1 + off) * (y2 - y1 + off)
        for j, (gx1, gy1, gx2, gy2) in enumerate(boxes):
            iw = max(min(gx2, x2) - max(gx1, x1) + off, 0.0)
            ih = max(min(gy2, y2) - max(gy1, y1) + off, 0.0)
            inters = iw * ih
            uni = area + (gx2 - gx1 + off) * (gy2 - gy1 + off) - inters
            if uni == 0:  # 0 / 0 (two empty boxes, pixel_offset=0): NaN, which np.max and np.argmax pick
                ovmax, jmax = math.nan, j
                break
            ov = inters / uni
            if ov > ovmax:
                ovmax, jmax = ov, j
        if ovmax > iou_thresh:
            if not difficult[jmax]:
                if not taken[jmax]:
                    tp[d] = 1.0
                    taken[jmax] = True
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0

    ctp, cfp = np.cumsum(tp), np.cumsum(fp)
    rec = ctp / float(npos)
    prec = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    return rec, prec, voc_ap(rec, prec, use_07_metric)
