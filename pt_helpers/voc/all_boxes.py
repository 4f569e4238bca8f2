"""``evaluate_detections``: per-class AP and mAP for py-faster-rcnn's ``all_boxes`` format.

Taught in notebooks/09_voc_eval.ipynb. ``all_boxes[class][image]`` is ``[]`` or an array ``(#dets, 5)``
of ``x1, y1, x2, y2, score`` (0-based pixels); class 0 is the background. The annotations are read once
for all classes; then each class goes through the devkit's steps as in :func:`pt_helpers.voc.voc_eval`,
with the vectorised matching of :mod:`pt_helpers.voc.matching`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .matching import Objects, check_options, descending, greedy_match, ground_truth
from .metric import precision_recall, voc_ap

__all__ = ["evaluate_detections"]


def _class_rows(all_boxes_c: Sequence[Any], c: int, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    if len(all_boxes_c) != n_images:
        raise ValueError(f"all_boxes[{c}] has {len(all_boxes_c)} image entries, expected {n_images} (one per image id)")
    lens = [len(x) for x in all_boxes_c]
    nonempty = [i for i, k in enumerate(lens) if k]
    rows = None
    if nonempty:
        try:
            rows = np.concatenate([np.asarray(all_boxes_c[i], dtype=np.float64) for i in nonempty])
        except (TypeError, ValueError):
            pass
    if nonempty and (rows is None or rows.ndim != 2 or rows.shape[1] != 5):
        for i in nonempty:  # name the entry at fault
            arr = np.asarray(all_boxes_c[i])
            if arr.ndim != 2 or arr.shape[1] != 5 or arr.dtype.kind not in "biuf":
                raise ValueError(f"all_boxes[{c}][{i}]: expected [] or an array of shape (#dets, 5) "
                                 f"[x1, y1, x2, y2, score], got shape {arr.shape} dtype {arr.dtype}")
    if not nonempty:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 5))
    return np.repeat(np.asarray(nonempty, dtype=np.int64), [lens[i] for i in nonempty]), rows


def evaluate_detections(all_boxes: Sequence[Sequence[Any]], image_ids: Sequence[str],
                        annotations: Mapping[str, Any], classes: Sequence[str], *, iou_thresh: float = 0.5,
                        use_07_metric: bool = False, pixel_offset: float = 1.0,
                        zero_based: bool = True, match: str = "devkit") -> dict[str, Any]:
    """Per-class AP and mAP for the py-faster-rcnn ``all_boxes`` format.

    Args:
        all_boxes: ``all_boxes[class][image]`` = ``[]`` or an array ``(#dets, 5)`` of
            ``x1, y1, x2, y2, score``; class 0 is the background and is skipped.
        image_ids: the image set, in the order of the inner lists.
        annotations: ``image_id -> objects`` as for :func:`voc_eval` (must cover ``image_ids``).
        classes: class names, ``classes[0]`` = background.
        zero_based: the boxes are 0-based pixel indices and VOC files 1-based, so 1 is added to the
            coordinates as py-faster-rcnn does when it writes its results files; False if the
            detections are already in the files' frame.
        iou_thresh, use_07_metric, pixel_offset, match: as for :func:`voc_eval` (``match="devkit"``:
            IoU >= iou_thresh, the official devkit; ``"py-faster-rcnn"``: IoU > iou_thresh).
    Returns:
        ``{"ap": {class: AP}, "npos": {...}, "n_det": {...}, "rec": {...}, "prec": {...},
        "map": mean AP over classes with positives, "no_positives": [classes without]}``.
    """
    check_options(pixel_offset, iou_thresh, match)
    if len(all_boxes) != len(classes):
        raise ValueError(f"all_boxes has {len(all_boxes)} class rows, expected {len(classes)} (one per class, "
                         "background included)")
    seen: set[str] = set()
    for img in image_ids:
        if img in seen:
            raise ValueError(f"image_ids: duplicate id {img!r}")
        seen.add(img)
        if img not in annotations:
            raise ValueError(f"image_ids: {img!r} has no annotation")
    ann = {img: annotations[img] for img in image_ids}
    objects = Objects.from_annotations(ann)  # every object once, then one boolean mask per class
    shift = np.array([1.0, 1.0, 1.0, 1.0, 0.0]) if zero_based else np.zeros(5)
    out: dict[str, Any] = {k: {} for k in ("ap", "npos", "n_det", "rec", "prec")}
    out["no_positives"] = []
    for c, name in enumerate(classes):
        if c == 0:
            continue
        img_idx, rows = _class_rows(all_boxes[c], c, len(image_ids))
        rows = rows + shift
        bad = ~np.isfinite(rows).all(1) | (rows[:, 2] < rows[:, 0]) | (rows[:, 3] < rows[:, 1])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"all_boxes[{c}][{int(img_idx[k])}]: row {rows[k] - shift} is not finite or is "
                             "inverted; expected x2 >= x1, y2 >= y1")
        gt = ground_truth(objects, name)
        order = descending(rows[:, 4])
        m = greedy_match(img_idx[order], rows[order, :4], gt, iou_thresh=iou_thresh, pixel_offset=pixel_offset,
                         match=match)
        rec, prec = precision_recall(m["tp"], m["fp"], gt.npos)
        ap = voc_ap(rec, prec, use_07_metric) if gt.npos else float("nan")
        for key, val in (("ap", ap), ("npos", gt.npos), ("n_det", len(rows)), ("rec", rec), ("prec", prec)):
            out[key][name] = val
        if gt.npos == 0:
            out["no_positives"].append(name)
    if out["no_positives"]:
        warnings.warn(f"no non-difficult ground truth for {out['no_positives']}: their AP is NaN and they are "
                      "left out of the mAP", UserWarning, stacklevel=2)
    valid = [ap for name, ap in out["ap"].items() if name not in out["no_positives"]]
    out["map"] = float(np.mean(valid)) if valid else float("nan")
    return out
