"""Detection explorer for lesson 09: IoU and score thresholds, the PR curve and AP, TP / FP / missed boxes.

Taught in notebooks/09_voc_eval.ipynb (sections 4-8). The matching is :func:`pt_helpers.voc.match_detections`
(the devkit's greedy rule; by default the official devkit's ``IoU >= iou_thresh``, ``match="py-faster-rcnn"``
for ``IoU > iou_thresh``), run once per class and IoU threshold by :func:`match_all`;
everything else reads its result:

- a score threshold keeps the detections with ``score >= score_thresh``. Matching is greedy in descending
  score order, so the kept detections are a prefix of each class's ranking and their outcomes are the
  ones they would get alone: no re-matching when only the score threshold moves;
- :func:`detection_counts`: TP, FP, ignored (matched a difficult box) and missed objects (non-difficult
  boxes no kept TP claims), over all images or one;
- :func:`class_curves`: per class recall, precision (:func:`pt_helpers.voc.precision_recall`) and AP
  (:func:`pt_helpers.voc.voc_ap`) of all detections and of the kept ones;
- :func:`detection_figure` draws one setting; :func:`detection_explorer` is the ipywidgets builder.

Inputs are lesson 09's: ``all_boxes[class][image]`` arrays ``(#dets, 5)`` of 0-based ``x1, y1, x2, y2, score``
(class 0 the background), the annotations ``image_id -> parse_annotation(...)`` (1-based boxes; their
order is the images' order) and the canvases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from pt_helpers.plot.image import to_image
from pt_helpers.voc import Detections, Objects, match_detections, precision_recall, voc_ap
from pt_helpers.voc.matching import ground_truth

from .widget import ExplorerBox, figure_png

__all__ = ["DetectionMatches", "match_all", "detection_counts", "class_curves", "detection_figure",
           "detection_explorer"]

COLOURS = {"TP": "#2ca02c", "FP": "#d62728", "missed": "#ff7f0e", "ignored": "#7f7f7f"}
RULE_LABELS = {"devkit": "IoU ≥ {:.2f} (VOC devkit)", "py-faster-rcnn": "IoU > {:.2f} (py-faster-rcnn)"}


@dataclass(frozen=True)
class DetectionMatches:
    """Every detection and ground-truth box of an image set, matched at one IoU threshold.

    Detections (``D`` rows, each class in descending score order, classes one after the other): ``cls``,
    ``image`` (index into the image set), ``score``, ``box`` (0-based), ``tp``, ``fp``, ``ignored`` (bool),
    ``gt`` (row of the matched ground-truth box, -1 if none). Ground truth (``G`` rows): ``gt_cls``,
    ``gt_image``, ``gt_box`` (0-based), ``gt_difficult``. ``npos[c]``: non-difficult boxes of class c.
    ``match``: the match rule (``"devkit"``: IoU >= iou_thresh; ``"py-faster-rcnn"``: IoU > iou_thresh).
    """

    iou_thresh: float
    cls: np.ndarray
    image: np.ndarray
    score: np.ndarray
    box: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    ignored: np.ndarray
    gt: np.ndarray
    gt_cls: np.ndarray
    gt_image: np.ndarray
    gt_box: np.ndarray
    gt_difficult: np.ndarray
    npos: np.ndarray
    match: str = "devkit"


def match_all(all_boxes: Sequence[Sequence[Any]], annotations: Mapping[str, Any] | Objects, classes: Sequence[str],
              *, iou_thresh: float = 0.5, match: str = "devkit") -> DetectionMatches:
    """Match every class with :func:`pt_helpers.voc.match_detections` (as ``evaluate_detections`` does).

    Args:
        all_boxes: ``all_boxes[class][image]`` = ``[]`` or ``(#dets, 5)`` 0-based ``x1, y1, x2, y2, score``.
        annotations: ``image_id -> objects`` (1-based boxes, as read from the VOC files), in image order;
            or the :class:`~pt_helpers.voc.Objects` built from them (faster when matching repeatedly).
        classes: class names, ``classes[0]`` the background (skipped).
        iou_thresh, match: a detection matches when ``IoU >= iou_thresh`` (``match="devkit"``, the official
            VOC devkit) or ``IoU > iou_thresh`` (``match="py-faster-rcnn"``), as in :func:`pt_helpers.voc.voc_eval`.
    """
    objects = annotations if isinstance(annotations, Objects) else Objects.from_annotations(annotations)
    ids, n_images = objects.image_ids, len(objects.image_ids)
    det: dict[str, list[np.ndarray]] = {k: [] for k in ("cls", "image", "score", "box", "tp", "fp", "ignored", "gt")}
    truth: dict[str, list[np.ndarray]] = {k: [] for k in ("cls", "image", "box", "difficult")}
    npos, offset = np.zeros(len(classes), dtype=np.int64), 0
    for c, name in enumerate(classes[1:], start=1):
        if len(all_boxes[c]) != n_images:
            raise ValueError(f"all_boxes[{c}] has {len(all_boxes[c])} image entries, expected {n_images}")
        lens = [len(x) for x in all_boxes[c]]
        rows = np.concatenate([np.zeros((0, 5))] + [np.asarray(x, dtype=np.float64).reshape(-1, 5)
                                                    for x in all_boxes[c]])  # (#dets of the class, 5)
        img = np.repeat(np.arange(n_images), lens)
        dets = Detections([ids[i] for i in img], rows[:, 4], rows[:, :4] + 1.0)  # VOC files are 1-based
        m = match_detections(dets, objects, name, iou_thresh=iou_thresh, match=match)
        gt = ground_truth(objects, name)  # the class's boxes, image by image: m["gt_index"] counts inside an image
        order = m["order"]
        flat = np.where(m["gt_index"] >= 0, gt.start[img[order]] + m["gt_index"], -1)
        for key, val in (("cls", np.full(len(order), c)), ("image", img[order]), ("score", rows[order, 4]),
                         ("box", rows[order, :4]), ("tp", m["tp"] > 0), ("fp", m["fp"] > 0),
                         ("ignored", m["ignored"]), ("gt", np.where(flat >= 0, flat + offset, -1))):
            det[key].append(val)
        for key, val in (("cls", np.full(len(gt.boxes), c)), ("image", np.repeat(np.arange(n_images), gt.counts)),
                         ("box", gt.boxes - 1.0), ("difficult", gt.difficult)):
            truth[key].append(val)
        npos[c], offset = m["npos"], offset + len(gt.boxes)
    cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in det.items()}
    gts = {k: np.concatenate(v) if v else np.zeros(0) for k, v in truth.items()}
    return DetectionMatches(float(iou_thresh), cat["cls"].astype(np.int64), cat["image"].astype(np.int64),
                            cat["score"], cat["box"].reshape(-1, 4), cat["tp"].astype(bool), cat["fp"].astype(bool),
                            cat["ignored"].astype(bool), cat["gt"].astype(np.int64), gts["cls"].astype(np.int64),
                            gts["image"].astype(np.int64), gts["box"].reshape(-1, 4), gts["difficult"].astype(bool),
                            npos, match)


def _selection(m: DetectionMatches, score_thresh: float, image: int | None,
               cls: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kept detections (mask), and of the ground truth: the selected boxes and the missed ones (masks)."""
    keep = m.score >= score_thresh
    sel_gt = np.ones(len(m.gt_cls), dtype=bool)
    if image is not None:
        keep, sel_gt = keep & (m.image == image), sel_gt & (m.gt_image == image)
    if cls is not None:
        keep, sel_gt = keep & (m.cls == cls), sel_gt & (m.gt_cls == cls)
    found = np.zeros(len(m.gt_cls), dtype=bool)
    found[m.gt[keep & m.tp]] = True
    return keep, sel_gt, sel_gt & ~m.gt_difficult & ~found


def detection_counts(m: DetectionMatches, *, score_thresh: float = 0.0, image: int | None = None,
                     cls: int | None = None) -> dict[str, int]:
    """TP, FP, ignored and missed at ``score >= score_thresh`` (all images / classes, or one of each).

    Returns:
        ``{"TP", "FP", "ignored", "missed", "npos"}``: missed = non-difficult boxes no kept TP found, so
        ``TP + missed == npos`` (the non-difficult boxes of the selection).
    """
    keep, sel_gt, missed = _selection(m, score_thresh, image, cls)
    return {"TP": int((keep & m.tp).sum()), "FP": int((keep & m.fp).sum()), "ignored": int((keep & m.ignored).sum()),
            "missed": int(missed.sum()), "npos": int((sel_gt & ~m.gt_difficult).sum())}


def class_curves(m: DetectionMatches, c: int, *, score_thresh: float = 0.0) -> dict[str, Any]:
    """One class's PR curve and AP (VOC2010+), for all its detections and for the kept ones.

    Returns:
        ``{"rec", "prec"}`` (all detections, descending score), ``"kept"`` (how many of them pass the score
        threshold: a prefix), ``"ap"`` and ``"ap_kept"`` (NaN when the class has no non-difficult box).
    """
    rows = m.cls == c
    rec, prec = precision_recall(m.tp[rows], m.fp[rows], int(m.npos[c]))
    kept = int((m.score[rows] >= score_thresh).sum())
    if not m.npos[c]:
        return {"rec": rec, "prec": prec, "kept": kept, "ap": float("nan"), "ap_kept": float("nan")}
    return {"rec": rec, "prec": prec, "kept": kept, "ap": voc_ap(rec, prec), "ap_kept": voc_ap(rec[:kept], prec[:kept])}


def _box(ax: Any, box: Sequence[float], colour: str, style: str = "-") -> None:
    x1, y1, x2, y2 = (float(v) for v in box)
    ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1 + 1, y2 - y1 + 1, fill=False, edgecolor=colour,
                           linewidth=1.4, linestyle=style))


def _pr_panel(ax: Any, m: DetectionMatches, classes: Sequence[str], cls: int | None, score_thresh: float) -> None:
    shown = [cls] if cls is not None else [c for c in range(1, len(classes)) if m.npos[c]]
    aps, kept_aps = [], []
    for c in shown:
        r = class_curves(m, c, score_thresh=score_thresh)
        aps.append(r["ap"])
        kept_aps.append(r["ap_kept"])
        k = r["kept"]
        line = ax.plot(r["rec"], r["prec"], color="#bbbbbb" if cls is not None else None, lw=1,
                       alpha=1 if cls is not None else 0.35)[0]
        ax.plot(r["rec"][:k], r["prec"][:k], color="#1f77b4" if cls is not None else line.get_color(), lw=1.8)
        if k:
            ax.plot(r["rec"][k - 1], r["prec"][k - 1], "o", color=line.get_color() if cls is None else "#d62728",
                    ms=6 if cls is not None else 4)
    what = classes[cls] if cls is not None else f"mAP over {len(shown)} classes"
    ap, ap_kept = (np.mean(aps), np.mean(kept_aps)) if shown else (np.nan, np.nan)
    ax.set_title(f"{what}: AP {ap:.3f} (all), {ap_kept:.3f} (score ≥ {score_thresh:.2f})\n"
                 f"match: {RULE_LABELS[m.match].format(m.iou_thresh)}; dot = operating point", fontsize=8)
    ax.set_xlabel("recall", fontsize=8)
    ax.set_ylabel("precision", fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.05)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def detection_figure(m: DetectionMatches, images: Any, *, classes: Sequence[str], score_thresh: float = 0.3,
                     image: int = 0, cls: int | None = None) -> Figure:
    """The PR curve(s) with the operating point, and one canvas with TP, FP, ignored and missed boxes.

    Args:
        m: from :func:`match_all`; images: the canvases, ``images[image]`` is ``(H, W)`` or ``(1, H, W)``.
        classes: names (``classes[0]`` background); cls: one class, or None for every class.
    """
    fig = Figure(figsize=(8.0, 3.6))  # fixed margins: constrained layout would double the redraw time
    ax_pr, ax_img = fig.subplots(1, 2, width_ratios=(1.15, 1))
    fig.subplots_adjust(left=0.07, right=0.88, bottom=0.13, top=0.8, wspace=0.12)
    _pr_panel(ax_pr, m, classes, cls, score_thresh)
    img = to_image(images[image])
    ax_img.imshow(img, cmap="gray", vmin=0, vmax=img.max() or 1)
    keep, _, missed = _selection(m, score_thresh, image, cls)
    for k in np.flatnonzero(keep):
        kind = "TP" if m.tp[k] else "FP" if m.fp[k] else "ignored"
        _box(ax_img, m.box[k], COLOURS[kind])
        ax_img.text(m.box[k, 0] - 0.5, m.box[k, 1] - 1, f"{classes[m.cls[k]][:5]} {m.score[k]:.2f}",
                    color=COLOURS[kind], fontsize=6, va="bottom")
    for g in np.flatnonzero(missed):
        _box(ax_img, m.gt_box[g], COLOURS["missed"], "--")
        ax_img.text(m.gt_box[g, 0], m.gt_box[g, 3], classes[m.gt_cls[g]][:5], color=COLOURS["missed"], fontsize=6,
                    va="bottom")  # inside the box, bottom left
    n = detection_counts(m, score_thresh=score_thresh, image=image, cls=cls)
    ax_img.set_title(f"canvas {image}: TP {n['TP']}, FP {n['FP']}, missed {n['missed']}, ignored {n['ignored']}",
                     fontsize=8)
    ax_img.set_axis_off()
    ax_img.legend(handles=[Line2D([], [], color=v, ls="--" if k == "missed" else "-", label=k)
                           for k, v in COLOURS.items()], fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  frameon=False)
    t = detection_counts(m, score_thresh=score_thresh, cls=cls)
    fig.suptitle(f"all images: TP {t['TP']}, FP {t['FP']}, missed {t['missed']} of {t['npos']} objects", fontsize=9)
    return fig


def detection_explorer(detections: Sequence[Sequence[Any]], annotations: Mapping[str, Any], images: Any, *,
                       classes: Sequence[str], iou_thresh: float = 0.5, score_thresh: float = 0.3,
                       image: int = 0) -> ExplorerBox:
    """The lesson 09 explorer: IoU and score thresholds, class and canvas; PR curve, AP and boxes redraw.

    Args:
        detections: ``all_boxes[class][image]`` (0-based boxes with scores); annotations: ``image_id ->
            objects`` in the images' order; images: the canvases; classes: names, background first.
        iou_thresh, score_thresh, image: the first view (the static :func:`detection_figure` of the lesson).
    Returns:
        An ipywidgets ``VBox``: sliders (IoU, score, canvas), a class menu and an ``Image`` redrawn on change.
        Matching runs once per IoU value (kept for later); the score threshold and the rest only redraw.
    """
    objects = annotations if isinstance(annotations, Objects) else Objects.from_annotations(annotations)
    cache: dict[float, DetectionMatches] = {}

    def matches(t: float) -> DetectionMatches:
        t = round(t, 4)
        if t not in cache:
            cache[t] = match_all(detections, objects, classes, iou_thresh=t)
        return cache[t]

    top = float(max(1.0, np.ceil(matches(iou_thresh).score.max(initial=0.0))))
    iou_w = widgets.FloatSlider(value=iou_thresh, min=0.05, max=0.95, step=0.05, description="IoU ≥")
    score_w = widgets.FloatSlider(value=score_thresh, min=0.0, max=top, step=top / 50, description="score ≥")
    image_w = widgets.IntSlider(value=image, min=0, max=len(objects.image_ids) - 1, description="canvas")
    cls_w = widgets.Dropdown(options=[("all classes", 0)] + [(n, c) for c, n in enumerate(classes) if c],
                             value=0, description="class")
    picture = widgets.Image(format="png")

    def redraw(_: Any = None) -> None:
        fig = detection_figure(matches(iou_w.value), images, classes=classes, score_thresh=score_w.value,
                               image=image_w.value, cls=cls_w.value or None)
        picture.value = figure_png(fig)

    for w in (iou_w, score_w, image_w, cls_w):
        w.observe(redraw, names="value")
    redraw()
    return ExplorerBox([widgets.HBox([iou_w, score_w]), widgets.HBox([cls_w, image_w]), picture],
                       title="Detection explorer")
