"""PASCAL VOC detection metric, in the order of the devkit's ``voc_eval``: IoU, matching, PR curve, AP.

Taught in notebooks/09_voc_eval.ipynb. Two codes define the metric, and they differ in one comparison:
the official MATLAB devkit (``VOCevaldet.m``, the challenge's own evaluation) matches at IoU ``>=`` the
threshold; py-faster-rcnn's ``voc_eval.py`` (its per-detection loop is kept in
:mod:`pt_helpers.voc.reference`) and the code copied from it match at IoU ``>`` the threshold. They
disagree only when an IoU equals the threshold exactly, which integer pixel boxes make happen.
``match="devkit"`` (the default) follows the official devkit, ``match="py-faster-rcnn"`` reproduces
py-faster-rcnn's numbers. The VOC paper (Everingham et al., IJCV 2010) says the overlap "must exceed 50 %".
:func:`voc_eval` does what both codes do, one step after the other:

1. read the ground truth of one class, image by image; ``npos`` counts its non-difficult boxes;
2. sort the detections by descending score (a *stable* sort: equal scores keep their input order);
3. match each detection against the boxes of its image (:func:`match_detections`): it takes the box
   with the highest IoU; a true positive when that IoU is >= ``iou_thresh`` (``>`` with
   ``match="py-faster-rcnn"``) and the box is not yet taken, a false positive otherwise (duplicates
   included; no fall-back to the second-best box), ignored (neither) when that box is ``difficult``;
4. cumulate TP and FP into recall and precision (:func:`precision_recall`);
5. AP: the area under the precision envelope, or the VOC2007 11-point mean (:func:`voc_ap`).

Step 3 runs over all detections at once: the vectorised matching is :mod:`pt_helpers.voc.matching`.
Boxes are ``(..., 4)`` float arrays ``x1, y1, x2, y2`` of inclusive pixel indices: a box spans
``x2 - x1 + 1`` pixels (``pixel_offset=1``); ``pixel_offset=0`` for continuous coordinates
(torchvision, COCO). ``evaluate_detections`` (the ``all_boxes`` format) is in :mod:`.all_boxes`; files
(XML, image sets, results) in :mod:`.files`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from .matching import Objects, check_options, descending, greedy_match, ground_truth, image_rows, overlaps

__all__ = ["box_iou", "Detections", "match_detections", "precision_recall", "voc_ap", "precision_envelope",
           "voc_eval"]

EPS = np.finfo(np.float64).eps  # py-faster-rcnn's guard against 0 / 0 when the first detections are ignored


def _check_boxes(boxes: Any, name: str) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name}: expected shape (N, 4) [x1, y1, x2, y2], got shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError(f"{name}: row {int(np.flatnonzero(~np.isfinite(b).all(1))[0])} is not finite")
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bad.any():
        raise ValueError(f"{name}: row {int(np.flatnonzero(bad)[0])} is inverted; expected x2 >= x1 and y2 >= y1")
    return b


def box_iou(boxes1: Any, boxes2: Any, *, pixel_offset: float = 1.0) -> np.ndarray:
    """Pairwise IoU.

    Args:
        boxes1: ``(N, 4)`` boxes ``x1, y1, x2, y2``; boxes2: ``(M, 4)``.
        pixel_offset: 1 (VOC: inclusive pixel indices, width ``x2 - x1 + 1``) or 0 (continuous
            coordinates; then equal to ``torchvision.ops.box_iou``).
    Returns:
        ``(N, M)`` float64 IoU in [0, 1].
    """
    check_options(pixel_offset)
    b1, b2 = _check_boxes(boxes1, "boxes1"), _check_boxes(boxes2, "boxes2")
    return overlaps(b1[:, None, :], b2[None, :, :], float(pixel_offset))


@dataclass(frozen=True)
class Detections:
    """One class's detections as columns - what a devkit results file holds - validated on creation.

    ``image_ids`` (N,) ids, ``scores`` (N,) and ``boxes`` (N, 4) ``x1, y1, x2, y2`` (float64).
    :func:`voc_eval` takes this or the row form ``[(image_id, score, x1, y1, x2, y2), ...]``, which
    :meth:`from_tuples` converts; build it once to evaluate the same detections several ways.
    """

    image_ids: Sequence[Any]
    scores: np.ndarray
    boxes: np.ndarray

    def __post_init__(self) -> None:
        ids = list(self.image_ids)
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        boxes = np.asarray(self.boxes, dtype=np.float64)
        boxes = boxes.reshape(-1, 4) if boxes.size == 0 else boxes
        if scores.shape != (len(ids),) or boxes.shape != (len(ids), 4):
            raise ValueError(f"Detections: {len(ids)} image ids, scores of shape {scores.shape} and boxes of shape "
                             f"{boxes.shape}; expected (N,) and (N, 4)")
        bad = ~(np.isfinite(scores) & np.isfinite(boxes).all(1))
        inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
        for flags, problem in ((bad, "score and box must be finite"),
                               (inverted, "inverted box; expected x2 >= x1 and y2 >= y1")):
            if flags.any():
                d = int(np.flatnonzero(flags)[0])
                raise ValueError(f"detection {d}: {problem}, got image {ids[d]!r} score {scores[d]} box "
                                 f"{boxes[d].tolist()}")
        object.__setattr__(self, "image_ids", ids)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "boxes", boxes)

    def __len__(self) -> int:
        return len(self.image_ids)

    @classmethod
    def from_tuples(cls, detections: Sequence[Sequence[Any]]) -> Detections:
        """From ``(image_id, score, x1, y1, x2, y2)`` tuples (errors name the detection at fault)."""
        vals = None
        if len(detections) and set(map(len, detections)) == {6}:
            try:  # fast path: one pass over the tuples for the numbers (profiled: the least memory traffic)
                numbers = chain.from_iterable(map(itemgetter(slice(1, 6)), detections))
                vals = np.fromiter(numbers, dtype=np.float64, count=5 * len(detections)).reshape(-1, 5)
                ids = list(map(itemgetter(0), detections))
            except (TypeError, ValueError):
                vals = None
        if vals is None:  # slow path: find the detection at fault (or convert odd-but-valid rows)
            for d, det in enumerate(detections):
                if len(det) != 6:
                    raise ValueError(f"detection {d}: expected 6 fields (image_id, score, x1, y1, x2, y2), "
                                     f"got {det!r}")
                try:
                    [float(v) for v in det[1:]]
                except (TypeError, ValueError):
                    raise ValueError(f"detection {d}: score and box must be numbers, got {det!r}") from None
            ids = [det[0] for det in detections]
            vals = np.array([det[1:] for det in detections], dtype=np.float64).reshape(-1, 5)
        return cls(ids, vals[:, 0], vals[:, 1:])


def match_detections(detections: Detections | Sequence[Sequence[Any]], annotations: Mapping[str, Any] | Objects,
                     classname: str, *, iou_thresh: float = 0.5, pixel_offset: float = 1.0,
                     match: str = "devkit") -> dict[str, Any]:
    """Steps 1-3 of the devkit: the class's ground truth, detections by score, TP / FP / ignored each.

    Args: as :func:`voc_eval`.
    Returns:
        A dict of arrays in descending-score order: ``order`` (index into ``detections``), ``iou``
        (best IoU with a box of the class in the same image, -inf if none), ``gt_index`` (that box's
        index among the image's boxes of the class, -1 below the threshold), ``tp``, ``fp`` (0/1
        floats) and ``ignored`` (matched a difficult box); and ``npos`` (non-difficult boxes).
    """
    check_options(pixel_offset, iou_thresh, match)
    # 1. the ground truth of the class, image by image (the devkit's class_recs and npos)
    objects = annotations if isinstance(annotations, Objects) else Objects.from_annotations(annotations, classname)
    gt = ground_truth(objects, classname)
    # 2. the detections (the devkit reads them from the results file), by descending score
    dets = detections if isinstance(detections, Detections) else Detections.from_tuples(detections)
    img_idx = image_rows(gt.index, dets.image_ids)
    order = descending(dets.scores)
    # 3. each detection against the boxes of its image (the devkit's loop over detections, vectorised)
    m = greedy_match(img_idx[order], dets.boxes[order], gt, iou_thresh=iou_thresh, pixel_offset=pixel_offset,
                     match=match)
    return {"order": order, **m, "npos": gt.npos}


def precision_recall(tp: Any, fp: Any, npos: int) -> tuple[np.ndarray, np.ndarray]:
    """Step 4: cumulative recall ``TP / npos`` and precision ``TP / max(TP + FP, eps)``.

    ``eps`` is py-faster-rcnn's; the official devkit computes ``tp ./ (fp + tp)`` with none. They differ
    only where ``TP + FP`` is 0: at the first ranks, while every detection so far matched a difficult box
    (ignored). There the devkit's precision is 0 / 0 = NaN and this one is 0; recall is 0 at those ranks,
    and MATLAB's ``max`` skips NaN, so both give the same AP (VOC2010+ area and 11-point), except the
    11-point AP when *every* detection is ignored (devkit NaN, here 0). Without ``eps`` NumPy's
    ``maximum`` would carry the NaN into the envelope and AP, hence the guard.

    Args:
        tp, fp: ``(N,)`` 0/1 flags in descending-score order; npos: non-difficult boxes of the class.
    Returns:
        ``(rec, prec)``, each ``(N,)`` float64; ``rec`` is NaN when ``npos`` is 0 (recall is undefined).
    """
    tp, fp = np.cumsum(np.asarray(tp, dtype=np.float64)), np.cumsum(np.asarray(fp, dtype=np.float64))
    prec = tp / np.maximum(tp + fp, EPS)
    rec = tp / float(npos) if npos else np.full(tp.shape, np.nan)
    return rec, prec


def voc_ap(rec: Any, prec: Any, use_07_metric: bool = False) -> float:
    """Average precision from a recall/precision curve (detections sorted by descending score).

    Args:
        rec, prec: 1-D arrays of the same length (cumulative recall and precision).
        use_07_metric: True = VOC2007's 11-point metric (mean over t = 0, 0.1, ..., 1 of the best
            precision at recall >= t); False = VOC2010+ area under the precision envelope.
    Returns:
        AP as a float (0.0 for an empty curve).
    """
    rec, prec = np.asarray(rec, dtype=np.float64), np.asarray(prec, dtype=np.float64)
    if rec.ndim != 1 or prec.ndim != 1:
        raise ValueError(f"voc_ap: rec and prec must be 1-D, got shapes {rec.shape} and {prec.shape}")
    if rec.shape != prec.shape:
        raise ValueError(f"voc_ap: rec and prec must have the same length, got {rec.size} and {prec.size}")
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):  # the devkit's thresholds, float rounding included
            above = rec >= t
            ap = ap + (np.max(prec[above]) if above.any() else 0.0) / 11.0
        return float(ap)
    mrec, mpre = precision_envelope(rec, prec)
    i = np.flatnonzero(mrec[1:] != mrec[:-1])  # where recall changes
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def precision_envelope(rec: Any, prec: Any) -> tuple[np.ndarray, np.ndarray]:
    """The curve VOC2010+ AP integrates: recall padded to ``[0, rec..., 1]`` and, at each point, the best
    precision at that recall or any higher one (the devkit's ``mpre(i) = max(mpre(i), mpre(i+1))`` loop).

    Returns:
        ``(mrec, mpre)``, two 1-D float64 arrays of length ``len(rec) + 2``.
    """
    mrec = np.concatenate(([0.0], np.asarray(rec, dtype=np.float64), [1.0]))
    mpre = np.concatenate(([0.0], np.asarray(prec, dtype=np.float64), [0.0]))
    return mrec, np.maximum.accumulate(mpre[::-1])[::-1]



def voc_eval(detections: Detections | Sequence[Sequence[Any]], annotations: Mapping[str, Any] | Objects,
             classname: str, *,
             iou_thresh: float = 0.5, use_07_metric: bool = False,
             pixel_offset: float = 1.0, match: str = "devkit") -> tuple[np.ndarray, np.ndarray, float]:
    """PASCAL VOC evaluation of one class, the devkit's five steps (module docstring).

    Args:
        detections: ``(image_id, score, x1, y1, x2, y2)`` tuples for this class, or a
            :class:`Detections`, in the annotations' coordinate frame (VOC files are 1-based).
        annotations: ``image_id -> list of objects`` (``{"name", "bbox", "difficult", ...}``) or the
            dicts :func:`pt_helpers.voc.parse_annotation` returns; its keys are the image set. Or an
            :class:`~pt_helpers.voc.matching.Objects` (the same, read once for every class).
        classname: the class to evaluate.
        iou_thresh: the overlap a match needs (0.5, the devkit's ``VOCopts.minoverlap``).
        use_07_metric: 11-point AP (VOC2007) instead of the area under the envelope (VOC2010+).
        pixel_offset: 1 = inclusive pixel boxes (devkit), 0 = continuous coordinates.
        match: ``"devkit"`` (default): a detection matches when IoU >= iou_thresh, as the official
            MATLAB devkit; ``"py-faster-rcnn"``: when IoU > iou_thresh, as py-faster-rcnn's ``voc_eval.py``
            and the code copied from it (the loops of :mod:`pt_helpers.voc.reference`). Only an IoU
            exactly equal to the threshold is judged differently.
    Returns:
        ``(rec, prec, ap)``: cumulative recall and precision per detection in descending-score order,
        and AP. No detections: empty arrays and AP 0. No non-difficult box of the class: recall and
        AP are NaN and a ``UserWarning`` says so.
    Raises:
        ValueError: a detection on an image id that has no annotation (naming it), malformed
            detections or annotations, an unknown ``match``.
    """
    m = match_detections(detections, annotations, classname, iou_thresh=iou_thresh, pixel_offset=pixel_offset,
                         match=match)
    rec, prec = precision_recall(m["tp"], m["fp"], m["npos"])
    if m["npos"] == 0:
        warnings.warn(f"class {classname!r} has no non-difficult ground-truth object: recall and AP are "
                      "undefined (NaN)", UserWarning, stacklevel=2)
        return rec, prec, float("nan")
    return rec, prec, voc_ap(rec, prec, use_07_metric)
