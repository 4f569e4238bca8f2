"""pt_helpers.voc.all_boxes: evaluate_detections, every class of py-faster-rcnn's all_boxes format (lesson 09)."""

from __future__ import annotations

import numpy as np
import pytest

from pt_helpers.voc import evaluate_detections, voc_eval


def obj(name, bbox, difficult=False):
    return {"name": name, "bbox": list(map(float, bbox)), "difficult": difficult, "truncated": False}


# one image, two cats, four detections (the hand-computed case A of tests/test_voc_metric.py: AP 5/6)
ANN_A = {"img": [obj("cat", [0, 0, 9, 9]), obj("cat", [20, 20, 29, 29])]}
DETS_A = [("img", 0.9, 0, 0, 9, 9), ("img", 0.8, 40, 40, 49, 49),
          ("img", 0.7, 20, 20, 29, 29), ("img", 0.6, 0, 0, 9, 9)]

CLASSES = ("__background__", "cat", "dog")


def test_evaluate_detections_all_boxes_by_hand():
    image_ids = ["img", "other"]
    annotations = {"img": ANN_A["img"] + [obj("dog", [40, 0, 49, 9])], "other": []}
    # all_boxes[class][image] = (#dets x 5) [x1, y1, x2, y2, score], 0-based pixels (the file is 1-based)
    cat = np.array([[x1 - 1, y1 - 1, x2 - 1, y2 - 1, s] for _, s, x1, y1, x2, y2 in DETS_A])
    all_boxes = [[[], []],
                 [cat, np.empty((0, 5))],
                 [np.array([[39, -1, 48, 8, 0.3]]), np.array([[0, 0, 5, 5, 0.9]])]]
    res = evaluate_detections(all_boxes, image_ids, annotations, CLASSES)
    assert res["ap"]["cat"] == pytest.approx(5 / 6)
    # dog: the .9 detection on "other" is FP, then the TP: rec [0, 1], prec [0, 1/2] -> AP 1/2
    assert res["ap"]["dog"] == pytest.approx(0.5)
    assert res["map"] == pytest.approx((5 / 6 + 0.5) / 2)
    assert res["npos"] == {"cat": 2, "dog": 1} and res["n_det"] == {"cat": 4, "dog": 2}
    assert "__background__" not in res["ap"]
    # already 1-based detections: zero_based=False
    shifted = [[b if isinstance(b, list) else b + np.array([1, 1, 1, 1, 0]) for b in row] for row in all_boxes]
    same = evaluate_detections(shifted, image_ids, annotations, CLASSES, zero_based=False)
    assert same["ap"] == res["ap"]


def test_evaluate_detections_equals_voc_eval_per_class():
    rng = np.random.default_rng(3)
    image_ids = [f"{i:06d}" for i in range(30)]
    annotations, all_boxes = {}, [[[] for _ in image_ids] for _ in CLASSES]
    for i, img in enumerate(image_ids):
        objs = []
        for _ in range(rng.integers(0, 4)):
            x, y = rng.integers(0, 40, size=2)
            objs.append(obj(str(rng.choice(CLASSES[1:])), [x, y, x + rng.integers(3, 20), y + rng.integers(3, 20)],
                            difficult=bool(rng.random() < 0.2)))
        annotations[img] = objs
        for c in (1, 2):
            k = rng.integers(0, 5)
            xy = rng.integers(-1, 40, size=(k, 2)).astype(float)
            all_boxes[c][i] = np.column_stack([xy, xy + rng.integers(3, 20, size=(k, 2)), rng.random(k)])
    res = evaluate_detections(all_boxes, image_ids, annotations, CLASSES, use_07_metric=True)
    for c, name in enumerate(CLASSES[1:], start=1):
        dets = [(img, b[4], b[0] + 1, b[1] + 1, b[2] + 1, b[3] + 1)
                for img, arr in zip(image_ids, all_boxes[c]) for b in np.asarray(arr).reshape(-1, 5)]
        assert res["ap"][name] == voc_eval(dets, annotations, name, use_07_metric=True)[2]
    assert res["map"] == pytest.approx(np.mean(list(res["ap"].values())))


def test_evaluate_detections_reports_a_class_without_positives():
    annotations = {"img": ANN_A["img"]}
    all_boxes = [[[]], [np.array([[0, 0, 9, 9, 0.9]])], [np.array([[0, 0, 9, 9, 0.9]])]]
    with pytest.warns(UserWarning, match="dog"):
        res = evaluate_detections(all_boxes, ["img"], annotations, CLASSES)
    assert res["no_positives"] == ["dog"] and np.isnan(res["ap"]["dog"])
    assert res["map"] == pytest.approx(res["ap"]["cat"]), "mAP averages the classes that have positives"


@pytest.mark.parametrize("mutate, what", [
    (lambda ab: ab.pop(), "all_boxes has 2 class rows"),
    (lambda ab: ab[1].pop(), "all_boxes\\[1\\] has 1 image entries"),
    (lambda ab: ab[1].__setitem__(0, np.zeros((2, 4))), "all_boxes\\[1\\]\\[0\\].*\\(#dets, 5\\)"),
])
def test_evaluate_detections_rejects_bad_all_boxes(mutate, what):
    all_boxes = [[[], []], [[], []], [[], []]]
    mutate(all_boxes)
    with pytest.raises(ValueError, match=what):
        evaluate_detections(all_boxes, ["a", "b"], {"a": [], "b": []}, CLASSES)


def test_evaluate_detections_rejects_unknown_and_duplicate_image_ids():
    all_boxes = [[[], []], [[], []], [[], []]]
    with pytest.raises(ValueError, match="'b'.*no annotation"):
        evaluate_detections(all_boxes, ["a", "b"], {"a": []}, CLASSES)
    with pytest.raises(ValueError, match="duplicate.*'a'"):
        evaluate_detections(all_boxes, ["a", "a"], {"a": []}, CLASSES)
