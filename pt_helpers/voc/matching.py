"""The VOC devkit's greedy matching as whole-array NumPy: what :mod:`.metric` and :mod:`.all_boxes` share.

Taught in notebooks/09_voc_eval.ipynb (section 10, "Why vectorise"). The devkit visits detections one by
one; here each step runs once over all of them:

- :class:`Objects` holds every object of an image set (or of one class) as columns;
- :func:`ground_truth` groups one class's boxes by image (flat, image by image, with offsets);
- :func:`greedy_match` takes the detections already sorted by :func:`descending` score: each one's best
  box does not depend on earlier decisions, so all (detection, box of its image) IoUs are computed at
  once, and "the box was already taken" becomes "this box occurs earlier in the sorted list"
  (each box's first claim: one ``np.minimum.at``).

The match rule is :func:`is_match`, the only place in :mod:`.metric`, :mod:`.all_boxes` and here that
compares an IoU with the threshold (the loops of :mod:`.reference` keep their originals' own ``>``).
Two rules exist, and :data:`MATCH_RULES` names them:

- ``"devkit"`` (the default): ``IoU >= iou_thresh``, as the official MATLAB devkit (``VOCevaldet.m``:
  ``if ovmax>=VOCopts.minoverlap``), the challenge's own evaluation code;
- ``"py-faster-rcnn"``: ``IoU > iou_thresh``, as py-faster-rcnn's ``voc_eval.py`` (``if ovmax > ovthresh``)
  and the code copied from it (Detectron2's ``pascal_voc_evaluation.py``, for one).

They differ only when an IoU equals the threshold exactly, which integer pixel boxes make happen (50 of
100 pixels). The VOC paper (Everingham et al., IJCV 2010) says the overlap "must exceed 50 %".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

__all__ = ["MATCH_RULES", "Objects", "GroundTruth", "check_options", "check_match", "overlaps", "is_match",
           "ground_truth", "image_rows", "descending", "greedy_match"]

CHUNK = 2_000_000  # (detection, box) pairs per vectorised step: bounds memory on crowded images

MATCH_RULES = {"devkit": "IoU >= iou_thresh (the official VOC devkit, VOCevaldet.m)",
               "py-faster-rcnn": "IoU > iou_thresh (py-faster-rcnn's voc_eval.py)"}


def check_match(match: Any) -> None:
    """Raise ``ValueError`` naming the argument unless ``match`` is one of :data:`MATCH_RULES`."""
    if not isinstance(match, str) or match not in MATCH_RULES:
        raise ValueError(f"match={match!r}: expected 'devkit' (IoU >= iou_thresh, the official VOC devkit, "
                         "the default) or 'py-faster-rcnn' (IoU > iou_thresh, its voc_eval.py)")


def check_options(pixel_offset: float, iou_thresh: float = 0.5, match: str = "devkit") -> None:
    """Raise ``ValueError`` unless ``pixel_offset`` is 0 or 1, ``0 <= iou_thresh < 1`` and ``match`` is a rule."""
    if pixel_offset not in (0, 1):
        raise ValueError(f"pixel_offset={pixel_offset!r}: expected 1 (inclusive pixel boxes, VOC) or 0 (continuous)")
    if not 0 <= iou_thresh < 1:
        raise ValueError(f"iou_thresh={iou_thresh!r}: expected a number in [0, 1)")
    check_match(match)


def overlaps(bb: np.ndarray, gt: np.ndarray, off: float) -> np.ndarray:
    """IoU of broadcastable ``bb (..., 4)`` and ``gt (..., 4)``, in the devkit's exact operation order.

    Returns ``(...)`` float64; 0 / 0 (two empty boxes with ``off=0``) gives NaN, as in the devkit.
    """
    ixmin = np.maximum(gt[..., 0], bb[..., 0])
    iymin = np.maximum(gt[..., 1], bb[..., 1])
    ixmax = np.minimum(gt[..., 2], bb[..., 2])
    iymax = np.minimum(gt[..., 3], bb[..., 3])
    iw = np.maximum(ixmax - ixmin + off, 0.0)
    ih = np.maximum(iymax - iymin + off, 0.0)
    inters = iw * ih
    uni = ((bb[..., 2] - bb[..., 0] + off) * (bb[..., 3] - bb[..., 1] + off)
           + (gt[..., 2] - gt[..., 0] + off) * (gt[..., 3] - gt[..., 1] + off) - inters)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inters / uni


def is_match(iou: Any, iou_thresh: float, match: str = "devkit") -> Any:
    """The match rule, elementwise on arrays: ``IoU >= iou_thresh`` (``match="devkit"``, the official
    ``VOCevaldet.m``) or ``IoU > iou_thresh`` (``match="py-faster-rcnn"``, its ``voc_eval.py``).

    The two differ only when IoU equals the threshold. NaN and -inf (no box) never match.
    """
    check_match(match)
    return iou >= iou_thresh if match == "devkit" else iou > iou_thresh


@dataclass(frozen=True)
class GroundTruth:
    """One class's boxes grouped by image: image ``i`` owns ``boxes[start[i]:start[i] + counts[i]]``.

    ``index`` image id -> row; ``boxes`` (m, 4) float64 and ``difficult`` (m,) bool; ``start``, ``counts``
    (n_images,) int64; ``npos`` the number of non-difficult boxes.
    """

    index: dict[Any, int]
    boxes: np.ndarray
    difficult: np.ndarray
    start: np.ndarray
    counts: np.ndarray
    npos: int


def _entry_objects(entry: Any) -> Any:
    return entry["objects"] if isinstance(entry, Mapping) else entry  # parse_annotation dict or its list


def _malformed(annotations: Mapping[str, Any], entries: list[Any], classname: str | None) -> ValueError:
    """The error for the first image or object at fault (the slow path, after the fast one failed)."""
    ids = list(annotations)
    found = []
    for i, entry in enumerate(entries):
        try:
            found += [(i, k, o) for k, o in enumerate(_entry_objects(entry)) if o["name"] == classname or not classname]
        except (KeyError, TypeError) as err:
            return ValueError(f"annotations[{ids[i]!r}]: expected a list of objects with a 'name' (or a "
                              f"parse_annotation dict), got {annotations[ids[i]]!r} ({type(err).__name__}: {err})")
    for i, k, o in found:
        try:
            ok = len(o["bbox"]) == 4 and all(np.isfinite(float(v)) for v in o["bbox"])
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            return ValueError(f"annotations[{ids[i]!r}] object {k}: expected a 'bbox' of 4 numbers, got {o!r}")
        if o.get("difficult", False) not in (0, 1):
            return ValueError(f"annotations[{ids[i]!r}] object {k}: 'difficult' must be a bool (or 0/1), got {o!r}")
    return ValueError("annotations: malformed objects")


def _of_class(entries: list[Any], classname: str) -> tuple[list[Any], list[int]]:
    """The objects named ``classname`` and their image rows: one plain loop, the fastest scan (profiled)."""
    found, rows = [], []
    for i, objects in enumerate(entries):
        for o in objects:
            if o["name"] == classname:
                found.append(o)
                rows.append(i)
    return found, rows


def _columns(found: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``boxes (m, 4)`` float64 and the raw ``difficult`` flags ``(m,)`` of the objects."""
    bboxes = list(map(itemgetter("bbox"), found))
    if not set(map(len, bboxes)) <= {4}:
        raise ValueError("a bbox without 4 coordinates")
    boxes = np.fromiter(chain.from_iterable(bboxes), dtype=np.float64, count=4 * len(bboxes)).reshape(-1, 4)
    try:
        hard = np.array(list(map(itemgetter("difficult"), found)))
    except KeyError:  # the flag is optional
        hard = np.array([o.get("difficult", False) for o in found])
    return boxes, hard


@dataclass(frozen=True)
class Objects:
    """The objects of an image set as columns, in image order: the annotations read once, for every class.

    ``image_ids`` (n_images,) the annotations' keys and ``index`` id -> row; ``classes`` the distinct names;
    per object ``rows`` (m,) its image's row, ``labels`` (m,) its index in ``classes`` (one comparison of
    integers per class instead of one of strings), ``boxes`` (m, 4) float64, ``difficult`` (m,) bool.
    :func:`pt_helpers.voc.voc_eval` takes this instead of the annotations dict (build it once with
    :meth:`from_annotations` to evaluate several classes; the devkit reads its ``recs`` once too).
    """

    image_ids: list[Any]
    index: dict[Any, int]
    classes: tuple[Any, ...]
    rows: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    difficult: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def names(self) -> list[Any]:
        """Each object's class name, ``(m,)``."""
        return [self.classes[k] for k in self.labels.tolist()]

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, Any], classname: str | None = None) -> Objects:
        """Every object (or, with ``classname``, every object of that class) of an image set.

        Args:
            annotations: ``image_id -> list of objects`` (``{"name", "bbox", "difficult", ...}``) or the
                dicts :func:`pt_helpers.voc.parse_annotation` returns.
        Raises:
            ValueError: naming the image (and object) at fault.
        """
        ids = list(annotations)
        values = list(annotations.values())
        try:
            lists = all(map(list.__instancecheck__, values))  # isinstance(v, list) for each, at C speed
            entries = values if lists else [_entry_objects(v) for v in values]
            if classname is None:
                found = list(chain.from_iterable(entries))
                counts = np.fromiter(map(len, entries), dtype=np.int64, count=len(entries))
                rows = np.repeat(np.arange(len(ids)), counts)
                names = list(map(itemgetter("name"), found))
                code = {name: k for k, name in enumerate(dict.fromkeys(names))}
                labels = np.fromiter(map(code.__getitem__, names), dtype=np.int64, count=len(names))
                classes = tuple(code)
            else:
                found, image_rows = _of_class(entries, classname)
                rows = np.array(image_rows, dtype=np.int64)
                labels, classes = np.zeros(len(found), dtype=np.int64), (classname,)
            boxes, hard = _columns(found)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _malformed(annotations, values, classname) from None
        if hard.shape != (len(found),) or (hard.size and hard.dtype != bool and (
                hard.dtype.kind not in "biu" or not np.isin(hard, (0, 1)).all())):
            raise _malformed(annotations, values, classname)
        return cls(ids, dict(zip(ids, range(len(ids)))), classes, rows, labels, boxes, hard.astype(bool))


def ground_truth(objects: Objects, classname: str | None = None) -> GroundTruth:
    """One class's objects (or all) grouped by image: what :func:`greedy_match` takes."""
    rows, boxes, hard = objects.rows, objects.boxes, objects.difficult
    if classname is not None:
        keep = objects.labels == (objects.classes.index(classname) if classname in objects.classes else -1)
        rows, boxes, hard = rows[keep], boxes[keep], hard[keep]
    counts = np.bincount(rows, minlength=len(objects.image_ids))
    return GroundTruth(objects.index, boxes, hard, np.cumsum(counts) - counts, counts, int(hard.size - hard.sum()))


def descending(scores: np.ndarray) -> np.ndarray:
    """Indices by descending score, equal scores in input order (what a stable sort gives).

    Without ties every sort gives that order, so the faster unstable sort is used first (about 2.5x
    faster on 30,000 scores); a stable sort only when two scores are equal.
    """
    order = np.argsort(-scores)
    ranked = scores[order]
    if ranked.size > 1 and (ranked[1:] == ranked[:-1]).any():
        order = np.argsort(-scores, kind="stable")
    return order


def _best_boxes(img_idx: np.ndarray, bb: np.ndarray, gt: GroundTruth, off: float) -> tuple[np.ndarray, np.ndarray]:
    """Per detection its best IoU with a box of its image (-inf if none) and that box's flat index.

    Pairs are laid out detection by detection: detection ``d`` owns ``n[d]`` consecutive pairs, one per
    box of its image; the max and the first argmax of each run are ``reduceat`` calls.
    """
    n = gt.counts[img_idx]
    ovmax, jmax = np.full(len(n), -np.inf), np.zeros(len(n), dtype=np.int64)
    ends = np.cumsum(n)
    lo = 0
    while lo < len(n):  # whole detections per step, at most CHUNK pairs (unless one detection has more)
        base = ends[lo - 1] if lo else 0
        hi = max(int(np.searchsorted(ends, base + CHUNK, side="right")), lo + 1)
        has = lo + np.flatnonzero(n[lo:hi])
        if has.size:
            first = ends[has] - n[has] - base  # each detection's first pair
            det = np.repeat(has, n[has])
            local = np.arange(int(ends[hi - 1] - base)) - np.repeat(first, n[has])  # box index within the image
            box = gt.start[img_idx[det]] + local
            ov = overlaps(bb[det], gt.boxes[box], off)  # (P,): one IoU per pair
            best = np.maximum.reduceat(ov, first)  # NaN wins, as in np.max
            hit = (ov == np.repeat(best, n[has])) | np.isnan(ov)  # first such pair = np.argmax's choice
            ovmax[has] = best
            jmax[has] = np.minimum.reduceat(np.where(hit, local, np.iinfo(np.int64).max), first)
        lo = hi
    return ovmax, jmax


def greedy_match(img_idx: np.ndarray, boxes: np.ndarray, gt: GroundTruth, *, iou_thresh: float = 0.5,
                 pixel_offset: float = 1.0, match: str = "devkit") -> dict[str, np.ndarray]:
    """The devkit's loop over detections, all at once: TP, FP or ignored for each.

    Args:
        img_idx: ``(N,)`` each detection's image row (``gt.index``), sorted by descending score;
            boxes: ``(N, 4)`` float64 in the same order.
        gt: the class's boxes (:func:`ground_truth`).
        match: ``"devkit"`` (IoU >= iou_thresh) or ``"py-faster-rcnn"`` (IoU > iou_thresh): :func:`is_match`.
    Returns:
        ``iou`` (best IoU with a box of the same image, -inf if none), ``gt_index`` (that box's index
        among its image's boxes, -1 when not a match), ``tp``, ``fp`` (0/1 floats), ``ignored`` (the best
        box is difficult): each ``(N,)``.
    """
    ovmax, jmax = _best_boxes(img_idx, boxes, gt, float(pixel_offset))
    above = is_match(ovmax, iou_thresh, match)
    box = np.where(above, gt.start[img_idx] + jmax, -1)  # flat index of the matched box
    ignored = above & gt.difficult[box] if gt.difficult.size else np.zeros(len(above), dtype=bool)
    cand = np.flatnonzero(above & ~ignored)
    claim = np.full(len(gt.boxes), len(above))
    np.minimum.at(claim, box[cand], cand)  # each box's first (highest-scored) claim
    tp = np.zeros(len(above))
    tp[cand[claim[box[cand]] == cand]] = 1.0
    fp = ((~above) | (above & ~ignored & (tp == 0))).astype(np.float64)
    return {"iou": ovmax, "gt_index": np.where(above, jmax, -1), "tp": tp, "fp": fp, "ignored": ignored}


def image_rows(index: Mapping[Any, int], image_ids: Sequence[Any]) -> np.ndarray:
    """Each detection's image row; ``ValueError`` naming the first id without an annotation."""
    try:
        return np.fromiter(map(index.__getitem__, image_ids), dtype=np.int64, count=len(image_ids))
    except (KeyError, TypeError):
        for d, img in enumerate(image_ids):
            try:
                index[img]
            except (KeyError, TypeError):
                raise ValueError(f"detection {d} is on image id {img!r}, which has no annotation ({len(index)} "
                                 f"annotated images, e.g. {list(index)[:3]})") from None
        raise
