"""Tests for pt_helpers.explore.detection (lesson 09's detection explorer), on a case worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from pt_helpers import voc
from pt_helpers.explore.detection import class_curves, detection_counts, detection_explorer, detection_figure, match_all
from pt_helpers.explore.widget import figure_png

CLASSES = ["__background__", "cat", "dog"]
# 1-based boxes, as in the VOC files
ANNOTATIONS = {
    "a": {"objects": [{"name": "cat", "bbox": [11, 11, 30, 30], "difficult": False},    # A1
                      {"name": "cat", "bbox": [41, 41, 50, 50], "difficult": True},     # A2, difficult
                      {"name": "dog", "bbox": [6, 41, 25, 60], "difficult": False}]},   # A3, never detected
    "b": {"objects": [{"name": "cat", "bbox": [21, 21, 40, 40], "difficult": False}]},  # B1
}
# all_boxes[class][image], 0-based x1, y1, x2, y2, score (+1 = the annotation frame)
ALL_BOXES = [
    [[], []],
    [np.array([[10, 10, 29, 29, 0.9],    # d1 = A1 exactly: TP
               [11, 11, 30, 30, 0.8],    # d2: A1 again (IoU 361/439 = 0.82): duplicate, FP
               [40, 40, 49, 49, 0.7],    # d3 = A2, difficult: ignored
               [0, 50, 9, 59, 0.2]]),    # d4: no overlap: FP
     np.array([[20, 20, 29, 39, 0.6]])],  # d5: half of B1, IoU exactly 0.5: TP at IoU >= 0.5 (devkit), FP at > 0.5
    [np.zeros((0, 5)), np.array([[0, 0, 9, 9, 0.95]])],  # d6: a dog where there is none: FP
]
IMAGES = np.zeros((2, 64, 64), dtype=np.uint8)


def counts(iou: float, score: float, match: str = "devkit", **kw) -> tuple[int, int, int, int]:
    m = match_all(ALL_BOXES, ANNOTATIONS, CLASSES, iou_thresh=iou, match=match)
    n = detection_counts(m, score_thresh=score, **kw)
    assert n["TP"] + n["missed"] == n["npos"]
    return n["TP"], n["FP"], n["ignored"], n["missed"]


@pytest.mark.parametrize("iou, score, match, expected", [
    (0.5, 0.0, "devkit", (2, 3, 1, 1)),          # TP d1 d5 (IoU 0.5 >= 0.5); FP d2 d4 d6; ignored d3; missed A3
    (0.5, 0.0, "py-faster-rcnn", (1, 4, 1, 2)),  # d5 is not > 0.5: FP, and B1 is missed
    (0.55, 0.0, "devkit", (1, 4, 1, 2)),         # above d5's IoU both rules agree
    (0.4, 0.0, "py-faster-rcnn", (2, 3, 1, 1)),  # d5 is a TP again: B1 found
    (0.5, 0.65, "devkit", (1, 2, 1, 2)),         # kept d6 d1 d2 d3: FP d2 d6
    (0.4, 0.85, "devkit", (1, 1, 0, 2)),         # kept d6 d1: B1 missed again (d5 is below the score threshold)
    (0.9, 0.0, "devkit", (1, 4, 1, 2)),          # only d1 and d3 (IoU 1) match; d2 is now below, still FP
])
def test_counts_over_all_images_match_the_hand_worked_case(iou: float, score: float, match: str,
                                                           expected: tuple[int, int, int, int]) -> None:
    assert counts(iou, score, match) == expected


def test_counts_per_image_and_per_class() -> None:
    assert counts(0.5, 0.0, image=0) == (1, 2, 1, 1)  # a: TP d1, FP d2 d4, ignored d3, missed A3
    assert counts(0.5, 0.0, image=1) == (1, 1, 0, 0)  # b: TP d5 (IoU exactly 0.5), FP d6
    assert counts(0.5, 0.0, "py-faster-rcnn", image=1) == (0, 2, 0, 1)  # b: FP d5 d6, missed B1
    assert counts(0.5, 0.0, cls=2) == (0, 1, 0, 1)    # dog: FP d6, missed A3
    assert counts(0.4, 0.0, image=1, cls=1) == (1, 0, 0, 0)


def test_match_all_links_each_tp_to_its_box_in_image_order() -> None:
    m = match_all(ALL_BOXES, ANNOTATIONS, CLASSES, iou_thresh=0.4)
    cat = m.cls == 1
    np.testing.assert_allclose(m.score[cat], [0.9, 0.8, 0.7, 0.6, 0.2])  # descending score
    tp_boxes = m.gt_box[m.gt[m.tp]]
    np.testing.assert_array_equal(tp_boxes, [[10, 10, 29, 29], [20, 20, 39, 39]])  # A1, B1 (0-based)
    assert m.npos.tolist() == [0, 2, 1]


@pytest.mark.parametrize("match", ["devkit", "py-faster-rcnn"])
@pytest.mark.parametrize("iou", [0.3, 0.5, 0.8])
def test_curves_and_ap_equal_voc_eval(iou: float, match: str) -> None:
    m = match_all(ALL_BOXES, ANNOTATIONS, CLASSES, iou_thresh=iou, match=match)
    ids = list(ANNOTATIONS)
    for c, name in enumerate(CLASSES[1:], start=1):
        tuples = [(ids[i], r[4], r[0] + 1, r[1] + 1, r[2] + 1, r[3] + 1)
                  for i in range(2) for r in np.asarray(ALL_BOXES[c][i]).reshape(-1, 5).tolist()]
        rec, prec, ap = voc.voc_eval(tuples, ANNOTATIONS, name, iou_thresh=iou, match=match)
        got = class_curves(m, c)
        np.testing.assert_array_equal(got["rec"], rec)
        np.testing.assert_array_equal(got["prec"], prec)
        assert got["ap"] == ap and got["ap_kept"] == ap and got["kept"] == len(tuples)


def test_ap_of_the_kept_detections_is_the_ap_of_the_prefix() -> None:
    m = match_all(ALL_BOXES, ANNOTATIONS, CLASSES, iou_thresh=0.4)
    r = class_curves(m, 1, score_thresh=0.75)  # d1 TP, d2 FP: recall 0.5 at precision 1
    assert r["kept"] == 2 and r["ap_kept"] == pytest.approx(0.5)
    assert r["ap"] == pytest.approx(0.5 + 0.5 * 2 / 3)  # d5 (TP at rank 4) adds recall 0.5 at precision 2/3
    assert class_curves(m, 1, score_thresh=2.0)["ap_kept"] == 0.0


def test_figure_titles_show_the_counts() -> None:
    m = match_all(ALL_BOXES, ANNOTATIONS, CLASSES, iou_thresh=0.5)
    fig = detection_figure(m, IMAGES, classes=CLASSES, score_thresh=0.0, image=0)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].get_title() == "canvas 0: TP 1, FP 2, missed 1, ignored 1"
    assert len(fig.axes[1].patches) == 5  # 4 detections and the missed dog
    assert "match: IoU ≥ 0.50 (VOC devkit)" in fig.axes[0].get_title()
    fig = detection_figure(m, IMAGES, classes=CLASSES, score_thresh=0.0, image=1, cls=2)
    assert fig.axes[0].get_title().startswith("dog: AP 0.000")
    strict = match_all(ALL_BOXES, ANNOTATIONS, CLASSES, iou_thresh=0.5, match="py-faster-rcnn")
    fig = detection_figure(strict, IMAGES, classes=CLASSES, score_thresh=0.0, image=1)
    assert "match: IoU > 0.50 (py-faster-rcnn)" in fig.axes[0].get_title()
    assert fig.axes[1].get_title() == "canvas 1: TP 0, FP 2, missed 1, ignored 0"
    with pytest.raises(ValueError, match="match='>'"):
        match_all(ALL_BOXES, ANNOTATIONS, CLASSES, match=">")


def test_explorer_builds_and_redraws_on_every_control() -> None:
    box = detection_explorer(ALL_BOXES, ANNOTATIONS, IMAGES, classes=CLASSES)
    (iou_w, score_w), (cls_w, image_w), picture = box.children[0].children, box.children[1].children, box.children[2]
    assert iou_w.description == "IoU ≥"  # the explorer matches with voc_eval's default rule, the devkit's
    default = detection_figure(match_all(ALL_BOXES, ANNOTATIONS, CLASSES), IMAGES, classes=CLASSES)
    assert picture.value == figure_png(default)  # the static figure a notebook shows is the first view
    for control, value in ((iou_w, 0.4), (score_w, 0.7), (cls_w, 1), (image_w, 1)):
        before = picture.value
        control.value = value
        assert picture.value != before
