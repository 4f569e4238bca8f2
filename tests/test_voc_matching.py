"""pt_helpers.voc.matching: the vectorised greedy matching shared by voc_eval and evaluate_detections (lesson 09).

Each piece is checked against what the devkit does one detection at a time; the end-to-end equality with
py-faster-rcnn's loop is in tests/test_voc_reference.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pt_helpers.voc import matching
from pt_helpers.voc.matching import (
    GroundTruth,
    Objects,
    check_options,
    descending,
    greedy_match,
    ground_truth,
    image_rows,
    is_match,
    overlaps,
)


def obj(name, bbox, difficult=False):
    return {"name": name, "bbox": list(map(float, bbox)), "difficult": difficult}


ANN = {
    "a": [obj("cat", [0, 0, 9, 9]), obj("dog", [20, 20, 29, 29]), obj("cat", [30, 0, 39, 9], difficult=True)],
    "b": [],
    "c": [obj("cat", [5, 5, 14, 14])],
}


def test_check_options():
    check_options(1, 0.5)
    check_options(0.0, 0.0)
    with pytest.raises(ValueError, match="pixel_offset"):
        check_options(2)
    with pytest.raises(ValueError, match="iou_thresh"):
        check_options(1, 1.0)
    check_options(1, 0.5, "devkit")
    check_options(1, 0.5, "py-faster-rcnn")
    for bad in (">", "strict", None, True):
        with pytest.raises(ValueError, match="match=.*'devkit'.*'py-faster-rcnn'"):
            check_options(1, 0.5, bad)


def test_overlaps_by_hand_and_the_empty_box_case():
    # [0,0,9,9] and [5,0,14,9]: 50 shared pixels of 150 (+1 convention); continuous: 36 / 126
    a, b = np.array([0.0, 0, 9, 9]), np.array([5.0, 0, 14, 9])
    assert overlaps(a, b, 1.0) == pytest.approx(50 / 150)
    assert overlaps(a, b, 0.0) == pytest.approx(36 / 126)
    # broadcasting: (2, 1, 4) against (1, 3, 4) gives (2, 3)
    assert overlaps(np.zeros((2, 1, 4)), np.ones((1, 3, 4)), 1.0).shape == (2, 3)
    # two empty boxes without the +1: 0 / 0 is NaN, as in the devkit (no warning)
    point = np.array([3.0, 3, 3, 3])
    assert math.isnan(overlaps(point, point, 0.0))


def test_is_match_devkit_by_default_and_py_faster_rcnn_on_request():
    # the official devkit (VOCevaldet.m): ovmax >= minoverlap; py-faster-rcnn's voc_eval.py: ovmax > ovthresh
    iou = np.array([0.49, 0.5, 0.51, np.nan, -np.inf])
    assert is_match(iou, 0.5).tolist() == [False, True, True, False, False]
    assert is_match(iou, 0.5, "devkit").tolist() == [False, True, True, False, False]
    assert is_match(iou, 0.5, "py-faster-rcnn").tolist() == [False, False, True, False, False]
    assert bool(is_match(0.5, 0.5)) is True and bool(is_match(0.5, 0.5, "py-faster-rcnn")) is False
    with pytest.raises(ValueError, match="match='>'"):
        is_match(iou, 0.5, ">")


def test_objects_from_annotations_all_and_one_class():
    everything = Objects.from_annotations(ANN)
    assert everything.image_ids == ["a", "b", "c"] and everything.index == {"a": 0, "b": 1, "c": 2}
    assert len(everything) == 4
    assert everything.rows.tolist() == [0, 0, 0, 2]
    assert everything.names == ["cat", "dog", "cat", "cat"] and everything.classes == ("cat", "dog")
    assert everything.labels.tolist() == [0, 1, 0, 0]
    assert everything.boxes.shape == (4, 4) and everything.boxes.dtype == np.float64
    assert everything.difficult.tolist() == [False, False, True, False]
    cats = Objects.from_annotations(ANN, "cat")
    assert cats.rows.tolist() == [0, 0, 2] and cats.names == ["cat"] * 3
    np.testing.assert_array_equal(cats.boxes, everything.boxes[everything.labels == 0])
    assert len(Objects.from_annotations(ANN, "bird")) == 0


def test_objects_accept_parse_annotation_dicts_and_missing_difficult():
    full = {k: {"filename": f"{k}.jpg", "objects": v} for k, v in ANN.items()}
    a, b = Objects.from_annotations(full), Objects.from_annotations(ANN)
    assert a.rows.tolist() == b.rows.tolist() and a.difficult.tolist() == b.difficult.tolist()
    plain = Objects.from_annotations({"x": [{"name": "cat", "bbox": [0, 0, 1, 1]}]})
    assert plain.difficult.tolist() == [False]


@pytest.mark.parametrize("objects, what", [
    ([{"name": "cat", "bbox": [0, 0, 1]}], "object 0.*'bbox' of 4"),
    ([obj("dog", [0, 0, 1, 1]), {"name": "cat", "difficult": False}], "object 1.*'bbox' of 4"),
    ([obj("cat", [0, 0, 1, 1]), {"name": "cat", "bbox": [0, 0, 1, 1], "difficult": "0"}], "object 1.*'difficult'"),
    ([{"bbox": [0, 0, 1, 1]}], "'name'"),
    (42, "list of objects"),
])
def test_objects_errors_name_the_image_and_object(objects, what):
    for classname in ("cat", None):
        with pytest.raises(ValueError, match=f"'img'.*{what}"):
            Objects.from_annotations({"ok": [], "img": objects}, classname)


def test_ground_truth_groups_by_image():
    gt = ground_truth(Objects.from_annotations(ANN), "cat")
    assert isinstance(gt, GroundTruth)
    assert gt.counts.tolist() == [2, 0, 1] and gt.start.tolist() == [0, 2, 2]
    assert gt.npos == 2, "the difficult cat is not a positive"
    np.testing.assert_array_equal(gt.boxes[gt.start[2]], [5, 5, 14, 14])
    assert ground_truth(Objects.from_annotations(ANN)).counts.tolist() == [3, 0, 1]


def test_descending_is_a_stable_descending_sort():
    rng = np.random.default_rng(0)
    for scores in (rng.random(1000), rng.choice([0.1, 0.5, 0.9], size=1000), np.array([]), np.array([0.3])):
        assert descending(scores).tolist() == np.argsort(-scores, kind="stable").tolist()


def test_image_rows_names_the_unknown_image():
    assert image_rows({"a": 0, "b": 1}, ["b", "a", "b"]).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="detection 2 is on image id 'zz'"):
        image_rows({"a": 0, "b": 1}, ["a", "b", "zz"])
    with pytest.raises(ValueError, match="detection 0 is on image id \\['a'\\]"):
        image_rows({"a": 0}, [["a"]])  # unhashable


def loop_match(img_idx, boxes, gt, iou_thresh, off, match="devkit"):
    """The devkit's loop over detections, written out (NumPy max/argmax per detection, as voc_eval.py);
    ``match``: ``>=`` (the official devkit) or ``>`` (py-faster-rcnn's voc_eval.py)."""
    taken = np.zeros(len(gt.boxes), dtype=bool)
    out = {k: [] for k in ("iou", "gt_index", "tp", "fp", "ignored")}
    for i, bb in zip(img_idx, boxes):
        s, n = gt.start[i], gt.counts[i]
        ov = overlaps(bb, gt.boxes[s:s + n], off) if n else np.zeros(0)
        ovmax, jmax = (np.max(ov), int(np.argmax(ov))) if n else (-np.inf, 0)
        hit = ovmax >= iou_thresh if match == "devkit" else ovmax > iou_thresh
        ignored = bool(hit and gt.difficult[s + jmax])
        tp = hit and not ignored and not taken[s + jmax]
        if tp:
            taken[s + jmax] = True
        for k, v in (("iou", ovmax), ("gt_index", jmax if hit else -1), ("tp", float(tp)),
                     ("fp", float(not hit or (not ignored and not tp))), ("ignored", ignored)):
            out[k].append(v)
    return out


def crowded(seed, n_images=30):
    rng = np.random.default_rng(seed)
    ann = {}
    for i in range(n_images):
        xy = rng.integers(0, 30, size=(int(rng.integers(0, 8)), 2)).astype(float)
        wh = rng.integers(0, 15, size=xy.shape)  # zero width happens: empty boxes without the +1
        ann[f"{i}"] = [obj("cat", [*p, *(p + s)], difficult=bool(rng.random() < 0.2)) for p, s in zip(xy, wh)]
    n = 400
    img_idx = rng.integers(0, n_images, size=n)
    xy = rng.integers(0, 30, size=(n, 2)).astype(float)
    boxes = np.concatenate([xy, xy + rng.integers(0, 15, size=(n, 2))], axis=1)
    return ground_truth(Objects.from_annotations(ann), "cat"), img_idx, boxes


@pytest.mark.parametrize("match", ["devkit", "py-faster-rcnn"])
@pytest.mark.parametrize("off", [1.0, 0.0])
@pytest.mark.parametrize("chunk", [None, 5, 1])
def test_greedy_match_equals_the_loop(monkeypatch, off, chunk, match):
    if chunk:  # tiny steps: detections are processed a few pairs at a time, with the same result
        monkeypatch.setattr(matching, "CHUNK", chunk)
    seen = np.zeros(4)
    ties = 0
    for seed in range(3):
        gt, img_idx, boxes = crowded(seed)
        best = greedy_match(img_idx, boxes, gt, pixel_offset=off)["iou"]
        values, counts = np.unique(best[(best > 0) & (best < 1)], return_counts=True)
        tie = float(values[counts.argmax()])  # the most frequent IoU: a threshold that many IoUs equal
        for thresh in (0.0, 0.3, 0.5, tie):
            got, want = greedy_match(img_idx, boxes, gt, iou_thresh=thresh, pixel_offset=off, match=match), \
                loop_match(img_idx, boxes, gt, thresh, off, match)
            ties += int((got["iou"] == tie).sum()) if thresh == tie else 0
            for k in want:
                np.testing.assert_array_equal(got[k], np.asarray(want[k]), err_msg=k)
            duplicates = got["fp"] * (got["gt_index"] >= 0)
            seen += [got["tp"].sum(), got["ignored"].sum(), duplicates.sum(), np.isnan(got["iou"]).sum()]
    assert (seen[:3] > 20).all(), f"TP, ignored and duplicates must all occur for the test to mean something: {seen}"
    assert seen[3] > 0 or off == 1.0, "without the +1, the empty-box case (NaN IoU) must occur"
    assert ties > 5, f"integer boxes: IoUs equal to the threshold must occur for the rules to differ ({ties})"


def test_greedy_match_on_no_detections_and_no_boxes():
    gt = ground_truth(Objects.from_annotations({"a": []}))
    m = greedy_match(np.zeros(2, dtype=np.int64), np.array([[0.0, 0, 5, 5], [1, 1, 2, 2]]), gt)
    assert m["tp"].tolist() == [0, 0] and m["fp"].tolist() == [1, 1] and np.isinf(m["iou"]).all()
    empty = greedy_match(np.zeros(0, dtype=np.int64), np.zeros((0, 4)), gt)
    assert all(v.shape == (0,) for v in empty.values())
