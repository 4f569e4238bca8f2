"""voc_eval against the evaluator most users would pick instead: torchmetrics' MeanAveragePrecision
(COCO evaluation by pycocotools) at IoU 0.5.

What differs, and how each test isolates it:
- interpolation: COCO averages the precision envelope at 101 recall points (0, 0.01, ..., 1);
  VOC2010+ integrates the envelope exactly, VOC2007 samples 11 points;
- pixels: COCO boxes are continuous (no +1): compare with ``pixel_offset=0``;
- matching: COCO lets a detection fall back to its best *unmatched* box; the devkit takes the best box
  (taken -> FP). Both match at IoU >= 0.5 (voc_eval's default; py-faster-rcnn's copy needs IoU > 0.5);
- difficult: COCO has no "difficult" (its ``iscrowd`` regions are matched differently).
On data where the matching cannot differ (separated objects, no difficult, continuous scores), the
TP/FP sequence is the same, so COCO's AP computed from *our* recall/precision equals torchmetrics'
number, and the rest of the gap is interpolation alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pt_helpers.voc import voc_eval

MeanAveragePrecision = pytest.importorskip("torchmetrics.detection").MeanAveragePrecision
pytest.importorskip("pycocotools")

CLASSES = ("cat", "dog", "bird")


def coco_ap_from_curve(rec: np.ndarray, prec: np.ndarray) -> float:
    """COCO's 101-point interpolated AP (pycocotools' COCOeval.accumulate) on a VOC curve."""
    env = np.maximum.accumulate(prec[::-1])[::-1] if len(prec) else prec
    thresholds = np.linspace(0.0, 1.0, 101)
    idx = np.searchsorted(rec, thresholds, side="left")
    q = np.where(idx < len(env), env[np.minimum(idx, len(env) - 1)] if len(env) else 0.0, 0.0)
    return float(q.mean())


def separated_scene(n_images: int, seed: int):
    """Objects on a grid of 40-pixel cells (no two can match one detection), no difficult, unique scores."""
    rng = np.random.default_rng(seed)
    annotations, preds, targets = {}, [], []
    for i in range(n_images):
        img = f"{i:05d}"
        cells = rng.choice(16, size=rng.integers(1, 6), replace=False)
        objs, det_rows = [], []
        for cell in cells:
            x0, y0 = 40.0 * (cell % 4), 40.0 * (cell // 4)
            w, h = rng.uniform(8, 24, size=2)
            x1, y1 = x0 + rng.uniform(0, 10), y0 + rng.uniform(0, 10)
            label = int(rng.integers(len(CLASSES)))
            objs.append((label, [x1, y1, x1 + w, y1 + h]))
            for _ in range(rng.choice([0, 1, 1, 1, 2])):  # missed, found, or found twice (duplicate)
                j = rng.normal(0, 2.0, size=4)
                box = [x1 + j[0], y1 + j[1], x1 + w + j[2], y1 + h + j[3]]
                box[2], box[3] = max(box[2], box[0] + 1), max(box[3], box[1] + 1)
                det_label = label if rng.random() < 0.9 else int(rng.integers(len(CLASSES)))
                det_rows.append((det_label, rng.uniform(0.3, 1.0), box))
        for _ in range(rng.integers(0, 3)):  # background false positives
            x, y = rng.uniform(0, 150, size=2)
            det_rows.append((int(rng.integers(len(CLASSES))), rng.uniform(0.0, 0.7), [x, y, x + 15, y + 15]))
        # float32, as torchmetrics stores it, so both evaluators see the same numbers
        gt_boxes = torch.tensor([b for _, b in objs], dtype=torch.float32).reshape(-1, 4)
        det_boxes = torch.tensor([b for _, _, b in det_rows], dtype=torch.float32).reshape(-1, 4)
        targets.append({"boxes": gt_boxes, "labels": torch.tensor([c for c, _ in objs])})
        preds.append({"boxes": det_boxes, "scores": torch.tensor([s for _, s, _ in det_rows], dtype=torch.float32),
                      "labels": torch.tensor([c for c, _, _ in det_rows], dtype=torch.int64)})
        annotations[img] = [{"name": CLASSES[c], "bbox": b.tolist(), "difficult": False}
                            for (c, _), b in zip(objs, gt_boxes.double())]
    return annotations, preds, targets


def voc_detections(preds, annotations, c):
    return [(img, float(s), *b.double().tolist())
            for img, p in zip(annotations, preds) for b, s, lab in zip(p["boxes"], p["scores"], p["labels"])
            if int(lab) == c]


@pytest.fixture(scope="module")
def scene():
    annotations, preds, targets = separated_scene(150, seed=7)
    metric = MeanAveragePrecision(box_format="xyxy", iou_thresholds=[0.5], class_metrics=True,
                                  backend="pycocotools")
    metric.update(preds, targets)
    result = metric.compute()
    coco = {int(c): float(v) for c, v in zip(result["classes"], result["map_per_class"])}
    return annotations, preds, coco, float(result["map_50"])


def test_same_matching_gives_coco_ap_from_our_curve(scene):
    annotations, preds, coco, _ = scene
    for c, name in enumerate(CLASSES):
        rec, prec, _ = voc_eval(voc_detections(preds, annotations, c), annotations, name, pixel_offset=0.0)
        assert coco_ap_from_curve(rec, prec) == pytest.approx(coco[c], abs=1e-6)


def test_interpolation_alone_separates_voc_and_coco(scene):
    annotations, preds, coco, coco_map = scene
    voc10, voc07 = [], []
    for c, name in enumerate(CLASSES):
        dets = voc_detections(preds, annotations, c)
        voc10.append(voc_eval(dets, annotations, name, pixel_offset=0.0)[2])
        voc07.append(voc_eval(dets, annotations, name, pixel_offset=0.0, use_07_metric=True)[2])
    gaps = np.abs(np.array(voc10) - np.array([coco[c] for c in range(len(CLASSES))]))
    assert gaps.max() < 0.01, f"the 101-point average approximates the exact area closely: {gaps}"
    assert gaps.max() > 0, "...but it is a different number"
    assert np.mean(voc10) == pytest.approx(coco_map, abs=0.01)
    assert np.abs(np.array(voc07) - np.array(voc10)).max() > gaps.max(), "11 points are coarser than 101"


def test_plus_one_pixel_changes_small_box_scores(scene):
    annotations, preds, coco, _ = scene
    dets = voc_detections(preds, annotations, 0)
    ap0 = voc_eval(dets, annotations, "cat", pixel_offset=0.0)[2]
    ap1 = voc_eval(dets, annotations, "cat", pixel_offset=1.0)[2]
    assert ap1 >= ap0 and ap1 != ap0, "+1 makes every box a pixel larger, so jittered boxes overlap more"


def test_coco_falls_back_to_an_unmatched_box_voc_does_not():
    # the case of test_voc_metric.test_best_overlap_taken_means_false_positive_no_fallback, continuous
    gt = torch.tensor([[0.0, 0, 10, 10], [0, 3, 10, 13]])
    det = torch.tensor([[0.0, 0, 10, 10], [0, 1, 10, 11]])
    metric = MeanAveragePrecision(iou_thresholds=[0.5], backend="pycocotools")
    metric.update([{"boxes": det, "scores": torch.tensor([0.9, 0.8]), "labels": torch.tensor([0, 0])}],
                  [{"boxes": gt, "labels": torch.tensor([0, 0])}])
    assert float(metric.compute()["map_50"]) == pytest.approx(1.0), "COCO: d2 takes the free box"
    ann = {"a": [{"name": "cat", "bbox": b.tolist(), "difficult": False} for b in gt]}
    dets = [("a", 0.9, *det[0].tolist()), ("a", 0.8, *det[1].tolist())]
    rec, prec, ap = voc_eval(dets, ann, "cat", pixel_offset=0.0)
    assert rec.tolist() == [0.5, 0.5] and ap == pytest.approx(0.5), "VOC: d2 is a duplicate of box 1"
