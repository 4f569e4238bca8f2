"""pt_helpers.voc.metric: IoU, matching, precision/recall, voc_ap, voc_eval (lesson 09).

Hand-computed cases are written out in the comments so a reader can redo them on paper.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from pt_helpers.voc import (
    Detections,
    box_iou,
    evaluate_detections,
    match_detections,
    precision_recall,
    voc_ap,
    voc_eval,
)


def obj(name, bbox, difficult=False, truncated=False):
    return {"name": name, "bbox": list(map(float, bbox)), "difficult": difficult, "truncated": truncated}


# --- IoU ---------------------------------------------------------------------------------------------

def test_box_iou_matches_torchvision_for_continuous_coordinates():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, size=(2, 40, 2))
    wh = rng.uniform(0.5, 30, size=(2, 40, 2))
    b1 = np.concatenate([xy[0], xy[0] + wh[0]], axis=1)
    b2 = np.concatenate([xy[1], xy[1] + wh[1]], axis=1)
    ours = box_iou(b1, b2, pixel_offset=0.0)
    ref = torchvision.ops.box_iou(torch.from_numpy(b1), torch.from_numpy(b2)).numpy()
    assert ours.shape == (40, 40)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    assert (ours > 0).sum() > 20, "the random boxes must overlap often enough for the test to mean something"


def test_box_iou_plus_one_pixel_by_hand():
    # [0,0,9,9] covers pixels 0..9: 10 x 10 = 100 pixels. [5,0,14,9] also 100; they share columns 5..9:
    # intersection 5 x 10 = 50, union 150 -> 1/3. Without the +1: areas 81, intersection 4 x 9 = 36 -> 36/126.
    a, b = np.array([[0, 0, 9, 9]]), np.array([[5, 0, 14, 9]])
    assert box_iou(a, b)[0, 0] == pytest.approx(50 / 150)
    assert box_iou(a, b, pixel_offset=0.0)[0, 0] == pytest.approx(36 / 126)
    # touching boxes share one pixel column with the +1 convention, nothing without it
    c = np.array([[9, 0, 18, 9]])
    assert box_iou(a, c)[0, 0] == pytest.approx(10 / 190)
    assert box_iou(a, c, pixel_offset=0.0)[0, 0] == 0.0
    # disjoint boxes: 0, never negative
    assert box_iou(a, np.array([[30, 30, 40, 40]]))[0, 0] == 0.0


@pytest.mark.parametrize("bad, what", [
    (np.zeros((3, 5)), "shape"),
    (np.array([[0, 0, np.nan, 1]]), "finite"),
    (np.array([[5, 0, 1, 9]]), "x2 >= x1"),
])
def test_box_iou_rejects_bad_boxes(bad, what):
    with pytest.raises(ValueError, match=what):
        box_iou(bad, np.array([[0, 0, 1, 1]]))


# --- voc_ap ------------------------------------------------------------------------------------------

# Case A (one image, two cats, four detections by descending score):
#   d1 .9 = cat 1 exactly          -> TP    tp 1 fp 0   rec .5  prec 1
#   d2 .8 on empty background      -> FP    tp 1 fp 1   rec .5  prec 1/2
#   d3 .7 = cat 2 exactly          -> TP    tp 2 fp 1   rec 1   prec 2/3
#   d4 .6 = cat 1 again            -> FP    tp 2 fp 2   rec 1   prec 1/2   (duplicate)
# VOC2010+: envelope at recall .5 is 1, at recall 1 is 2/3: AP = .5 * 1 + .5 * 2/3 = 5/6.
# VOC2007: thresholds 0, .1, ..., .5 see max precision 1 (6 points), .6 ... 1.0 see 2/3 (5 points):
#          AP = (6 + 5 * 2/3) / 11 = 28/33.
REC_A = np.array([0.5, 0.5, 1.0, 1.0])
PREC_A = np.array([1.0, 0.5, 2 / 3, 0.5])
ANN_A = {"img": [obj("cat", [0, 0, 9, 9]), obj("cat", [20, 20, 29, 29])]}
DETS_A = [("img", 0.9, 0, 0, 9, 9), ("img", 0.8, 40, 40, 49, 49),
          ("img", 0.7, 20, 20, 29, 29), ("img", 0.6, 0, 0, 9, 9)]


def test_voc_ap_by_hand_both_metrics():
    assert voc_ap(REC_A, PREC_A) == pytest.approx(5 / 6, abs=1e-12)
    assert voc_ap(REC_A, PREC_A, use_07_metric=True) == pytest.approx(28 / 33, abs=1e-12)


def test_voc07_and_voc2010_on_the_same_curves():
    """11-point AP samples the same envelope the area integrates: close, but not equal in general."""
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(200):
        hits = rng.random(50) < rng.uniform(0.2, 0.9)
        npos = hits.sum() + rng.integers(0, 10)
        if npos == 0:
            continue
        tp = np.cumsum(hits)
        rec, prec = tp / npos, tp / np.arange(1, 51)
        a07, a10 = voc_ap(rec, prec, use_07_metric=True), voc_ap(rec, prec)
        assert 0 <= a07 <= 1 and 0 <= a10 <= 1
        diffs.append(a07 - a10)
    diffs = np.abs(diffs)
    assert diffs.max() < 0.1, "both sample the same envelope: they cannot be far apart"
    assert (diffs > 1e-6).mean() > 0.9, "...but they are different metrics"


def test_voc_ap_perfect_and_empty():
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 1.0]), use_07_metric=True) == pytest.approx(1.0)
    assert voc_ap(np.array([]), np.array([])) == 0.0
    assert voc_ap(np.array([]), np.array([]), use_07_metric=True) == 0.0


def test_voc_ap_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="same length"):
        voc_ap(np.array([0.1, 0.2]), np.array([1.0]))
    with pytest.raises(ValueError, match="1-D"):
        voc_ap(np.zeros((2, 2)), np.zeros((2, 2)))


# --- matching and voc_eval ----------------------------------------------------------------------------

def test_voc_eval_case_a_by_hand():
    rec, prec, ap = voc_eval(DETS_A, ANN_A, "cat")
    np.testing.assert_allclose(rec, REC_A)
    np.testing.assert_allclose(prec, PREC_A)
    assert ap == pytest.approx(5 / 6)
    assert voc_eval(DETS_A, ANN_A, "cat", use_07_metric=True)[2] == pytest.approx(28 / 33)


def test_difficult_is_neither_rewarded_nor_penalised():
    # d1 .9 on the difficult cat -> ignored (tp 0 fp 0, prec 0 thanks to eps, not 0/0)
    # d2 .8 on the normal cat    -> TP      (tp 1 fp 0)
    # d3 .7 on background        -> FP      (tp 1 fp 1)
    # npos = 1 (difficult objects are not counted): rec [0, 1, 1], prec [0, 1, 1/2], AP = 1.
    ann = {"a": [obj("cat", [0, 0, 9, 9]), obj("cat", [30, 30, 39, 39], difficult=True)]}
    dets = [("a", 0.9, 30, 30, 39, 39), ("a", 0.8, 0, 0, 9, 9), ("a", 0.7, 50, 50, 59, 59)]
    rec, prec, ap = voc_eval(dets, ann, "cat")
    np.testing.assert_allclose(rec, [0, 1, 1])
    np.testing.assert_allclose(prec, [0, 1, 0.5])
    assert ap == pytest.approx(1.0)
    m = match_detections(dets, ann, "cat")
    assert m["npos"] == 1
    assert m["ignored"].tolist() == [True, False, False]
    # a second detection of the difficult cat is also ignored, not a duplicate FP
    rec2, prec2, _ = voc_eval(dets + [("a", 0.95, 30, 30, 39, 39)], ann, "cat")
    assert rec2.tolist() == [0, 0, 1, 1] and prec2[-1] == 0.5


def test_iou_exactly_at_the_threshold_devkit_by_default_py_faster_rcnn_on_request():
    # gt covers 10 x 10 = 100 pixels; [0,0,4,9] covers 50 of them: IoU exactly 0.5.
    # The official devkit (VOCevaldet.m, ovmax >= minoverlap) calls it a TP; py-faster-rcnn's voc_eval.py
    # (ovmax > ovthresh) a FP.
    ann = {"a": [obj("cat", [0, 0, 9, 9])]}
    tie = [("a", 0.9, 0, 0, 4, 9)]
    assert box_iou(np.array([[0, 0, 4, 9]]), np.array([[0, 0, 9, 9]]))[0, 0] == 0.5  # exactly, in floats too
    assert voc_eval(tie, ann, "cat")[2] == pytest.approx(1.0)
    assert voc_eval(tie, ann, "cat", match="devkit")[2] == pytest.approx(1.0)
    assert voc_eval(tie, ann, "cat", match="py-faster-rcnn")[2] == 0.0
    assert match_detections(tie, ann, "cat")["tp"].tolist() == [1.0]
    m = match_detections(tie, ann, "cat", match="py-faster-rcnn")
    assert m["tp"].tolist() == [0.0] and m["fp"].tolist() == [1.0] and m["gt_index"].tolist() == [-1]
    # the same in the all_boxes format (0-based boxes, +1 on the way to the files' frame)
    all_boxes = [[[]], [np.array([[-1.0, -1, 3, 8, 0.9]])]]
    assert evaluate_detections(all_boxes, ["a"], ann, ("__background__", "cat"))["map"] == pytest.approx(1.0)
    assert evaluate_detections(all_boxes, ["a"], ann, ("__background__", "cat"), match="py-faster-rcnn")["map"] == 0.0
    # above the tie both rules agree
    for rule in ("devkit", "py-faster-rcnn"):
        assert voc_eval([("a", 0.9, 0, 0, 5, 9)], ann, "cat", match=rule)[2] == pytest.approx(1.0)  # 60 / 100
        assert voc_eval([("a", 0.9, 0, 0, 3, 9)], ann, "cat", match=rule)[2] == 0.0  # 40 / 100


LESSON_ANN = {  # lesson 09's example (section 4): two images, four cats (one difficult), seven detections
    "a": [obj("cat", [5, 5, 24, 24]), obj("cat", [30, 8, 49, 27]), obj("cat", [8, 35, 17, 44], difficult=True)],
    "b": [obj("cat", [20, 20, 44, 44])],
}
LESSON_DETS = [("a", 0.92, 6, 6, 25, 25), ("b", 0.85, 22, 18, 46, 42), ("a", 0.77, 4, 5, 23, 24),
               ("a", 0.66, 8, 35, 17, 44), ("b", 0.58, 0, 0, 15, 15), ("a", 0.41, 31, 10, 50, 26),
               ("a", 0.30, 40, 8, 49, 27)]


def test_the_lessons_rank_7_example_under_both_rules():
    # rank 7 covers 10 x 20 = 200 of the second cat's 400 pixels and nothing more: IoU exactly 0.5.
    # With rank 6 (which took that cat) it is a FP either way: a duplicate (devkit) or below the threshold.
    for rule in ("devkit", "py-faster-rcnn"):
        m = match_detections(LESSON_DETS, LESSON_ANN, "cat", match=rule)
        assert m["iou"][6] == 0.5 and m["tp"].tolist() == [1, 1, 0, 0, 0, 1, 0] and m["fp"][6] == 1
        assert m["gt_index"][6] == (1 if rule == "devkit" else -1)
        assert voc_eval(LESSON_DETS, LESSON_ANN, "cat", match=rule)[2] == pytest.approx(13 / 15)
    # without rank 6 the cat is free: the devkit finds it (recall 1, AP 13/15), py-faster-rcnn does not (AP 2/3)
    dets = LESSON_DETS[:5] + LESSON_DETS[6:]
    assert match_detections(dets, LESSON_ANN, "cat")["tp"].tolist() == [1, 1, 0, 0, 0, 1]
    assert match_detections(dets, LESSON_ANN, "cat", match="py-faster-rcnn")["tp"].tolist() == [1, 1, 0, 0, 0, 0]
    assert voc_eval(dets, LESSON_ANN, "cat")[2] == pytest.approx(2 / 3 + 1 / 3 * 3 / 5)
    assert voc_eval(dets, LESSON_ANN, "cat", match="py-faster-rcnn")[2] == pytest.approx(2 / 3)


def test_best_overlap_taken_means_false_positive_no_fallback():
    # two overlapping cats; d2 overlaps cat 1 (IoU 90/110) more than cat 2 (IoU 80/120 = .67 > .5).
    # cat 1 is already taken by d1, so the devkit calls d2 a duplicate (FP) - it does not fall back to
    # cat 2, which COCO's matcher would do.
    ann = {"a": [obj("cat", [0, 0, 9, 9]), obj("cat", [0, 3, 9, 12])]}
    dets = [("a", 0.9, 0, 0, 9, 9), ("a", 0.8, 0, 1, 9, 10)]
    m = match_detections(dets, ann, "cat")
    assert m["tp"].tolist() == [1, 0] and m["fp"].tolist() == [0, 1]
    assert m["gt_index"].tolist() == [0, 0]


def test_other_classes_and_other_images_are_ignored():
    ann = {"a": [obj("cat", [0, 0, 9, 9]), obj("dog", [20, 20, 29, 29])], "b": []}
    # the cat detector fires on the dog: FP for "cat" (it's not a cat); on image b: FP
    dets = [("a", 0.9, 20, 20, 29, 29), ("b", 0.8, 0, 0, 9, 9), ("a", 0.7, 0, 0, 9, 9)]
    rec, prec, ap = voc_eval(dets, ann, "cat")
    np.testing.assert_allclose(rec, [0, 0, 1])
    np.testing.assert_allclose(prec, [0, 0, 1 / 3])
    assert ap == pytest.approx(1 / 3)


def test_no_detections_gives_ap_zero():
    rec, prec, ap = voc_eval([], ANN_A, "cat")
    assert ap == 0.0 and rec.shape == (0,) and prec.shape == (0,)
    assert voc_eval([], ANN_A, "cat", use_07_metric=True)[2] == 0.0


def test_class_without_positives_is_reported_not_divided_by_zero():
    with pytest.warns(UserWarning, match="'bird'.*no non-difficult") as record:
        rec, prec, ap = voc_eval([("img", 0.5, 0, 0, 9, 9)], ANN_A, "bird")
    assert not [w for w in record if issubclass(w.category, RuntimeWarning)], "numpy divided by zero"
    assert np.isnan(ap) and np.isnan(rec).all()
    np.testing.assert_array_equal(prec, [0.0])


def test_unknown_image_id_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'nope'"):
        voc_eval(DETS_A + [("nope", 0.1, 0, 0, 1, 1)], ANN_A, "cat")


@pytest.mark.parametrize("dets, what", [
    ([("img", 0.9, 0, 0, 9)], "detection 0.*6"),
    ([("img", "high", 0, 0, 9, 9)], "detection 0.*number"),
    ([("img", 0.9, 0, 0, 9, 9), ("img", float("nan"), 0, 0, 9, 9)], "detection 1.*finite"),
    ([("img", 0.9, 9, 0, 0, 9)], "detection 0.*x2 >= x1"),
])
def test_bad_detections_are_errors(dets, what):
    with pytest.raises(ValueError, match=what):
        voc_eval(dets, ANN_A, "cat")


CLASSES = ("__background__", "cat", "dog")


@pytest.mark.parametrize("objects, what", [
    ([{"name": "cat", "difficult": False}], "object 0.*'bbox' of 4 numbers"),
    ([obj("dog", [0, 0, 1, 1]), {"name": "cat", "bbox": [0, 0, 1], "difficult": False}], "object 1.*'bbox' of 4"),
    ([obj("cat", [0, 0, 1, 1]), {"name": "cat", "bbox": [0, 0, 1, 1], "difficult": "0"}], "object 1.*'difficult'"),
    ([{"bbox": [0, 0, 1, 1]}], "'name'"),
    ("cat", "list of objects"),
])
def test_bad_annotations_are_errors_naming_the_image(objects, what):
    with pytest.raises(ValueError, match=f"'img'.*{what}"):
        voc_eval(DETS_A, {"img": objects}, "cat")
    all_boxes = [[[]], [np.array([[0, 0, 9, 9, 0.5]])], [[]]]
    with pytest.raises(ValueError, match=f"'img'.*{what}"):
        evaluate_detections(all_boxes, ["img"], {"img": objects}, CLASSES)


def test_detections_in_columns_give_the_same_result():
    cols = Detections.from_tuples(DETS_A)
    assert len(cols) == 4 and cols.image_ids == ["img"] * 4 and cols.boxes.shape == (4, 4)
    for a, b in zip(voc_eval(cols, ANN_A, "cat"), voc_eval(DETS_A, ANN_A, "cat")):
        np.testing.assert_array_equal(a, b)
    built = Detections(["img", "img"], [0.9, 0.8], np.array([[0, 0, 9, 9], [40, 40, 49, 49]]))
    assert voc_eval(built, ANN_A, "cat")[0].tolist() == [0.5, 0.5]
    assert len(Detections([], [], [])) == 0 and voc_eval(Detections([], [], []), ANN_A, "cat")[2] == 0.0


@pytest.mark.parametrize("args, what", [
    ((["a", "b"], [0.5], np.zeros((2, 4))), "2 image ids, scores of shape \\(1,\\)"),
    ((["a"], [0.5], np.zeros((1, 5))), "boxes of shape \\(1, 5\\)"),
    ((["a", "b"], [0.5, np.inf], np.zeros((2, 4))), "detection 1.*finite"),
    ((["a"], [0.5], [[3, 0, 1, 1]]), "detection 0.*inverted"),
])
def test_detections_columns_are_validated(args, what):
    with pytest.raises(ValueError, match=what):
        Detections(*args)


def test_bad_arguments():
    with pytest.raises(ValueError, match="iou_thresh"):
        voc_eval(DETS_A, ANN_A, "cat", iou_thresh=1.5)
    with pytest.raises(ValueError, match="pixel_offset"):
        voc_eval(DETS_A, ANN_A, "cat", pixel_offset=-1)
    with pytest.raises(ValueError, match="match='strict'.*'devkit'.*'py-faster-rcnn'"):
        voc_eval(DETS_A, ANN_A, "cat", match="strict")
    with pytest.raises(ValueError, match="match='>'"):
        match_detections(DETS_A, ANN_A, "cat", match=">")
    with pytest.raises(ValueError, match="match=None"):
        evaluate_detections([[[]], [[]], [[]]], ["img"], ANN_A, CLASSES, match=None)


def test_ties_keep_input_order():
    # equal scores: the earlier detection in the input is matched first (stable sort)
    ann = {"a": [obj("cat", [0, 0, 9, 9])]}
    m = match_detections([("a", 0.5, 0, 0, 9, 9), ("a", 0.5, 0, 0, 8, 9)], ann, "cat")
    assert m["order"].tolist() == [0, 1] and m["tp"].tolist() == [1, 0]
    scores = np.random.default_rng(0).choice([0.1, 0.2, 0.3], size=300)
    m = match_detections([("a", s, 0, 0, 9, 9) for s in scores], ann, "cat")
    assert m["order"].tolist() == np.lexsort((np.arange(300), -scores)).tolist()


def test_order_without_ties_and_with_one_tie_among_many():
    # distinct scores take the fast (unstable) sort; a single tie anywhere switches to the stable one
    ann = {"a": [obj("cat", [0, 0, 9, 9])]}
    scores = np.random.default_rng(1).permutation(5000) / 5000.0
    m = match_detections([("a", s, 0, 0, 9, 9) for s in scores], ann, "cat")
    assert m["order"].tolist() == np.argsort(-scores, kind="stable").tolist()
    scores[4321] = scores[17]
    m = match_detections([("a", s, 0, 0, 9, 9) for s in scores], ann, "cat")
    assert m["order"].tolist() == np.lexsort((np.arange(5000), -scores)).tolist()


def test_accepts_parse_annotation_dicts():
    full = {"img": {"filename": "img.jpg", "size": {"width": 60, "height": 60, "depth": 1}, "objects": ANN_A["img"]}}
    assert voc_eval(DETS_A, full, "cat")[2] == pytest.approx(5 / 6)


def test_precision_envelope_is_the_devkits_backward_max():
    from pt_helpers.voc import precision_envelope

    rec, prec = np.array([0.2, 0.4, 0.4, 0.8]), np.array([1.0, 0.5, 0.6, 0.4])
    mrec, mpre = precision_envelope(rec, prec)
    want = np.concatenate(([0.0], prec, [0.0]))
    for i in range(len(want) - 2, -1, -1):  # VOCdevkit's loop: mpre(i) = max(mpre(i), mpre(i+1))
        want[i] = max(want[i], want[i + 1])
    np.testing.assert_array_equal(mrec, [0.0, 0.2, 0.4, 0.4, 0.8, 1.0])
    np.testing.assert_array_equal(mpre, want)


def test_precision_recall_by_hand():
    # case A's flags: TP FP TP FP, npos 2 -> rec [.5 .5 1 1], prec [1 1/2 2/3 1/2]
    rec, prec = precision_recall([1, 0, 1, 0], [0, 1, 0, 1], 2)
    np.testing.assert_allclose(rec, REC_A)
    np.testing.assert_allclose(prec, PREC_A)
    # an ignored first detection (tp = fp = 0): precision 0 thanks to eps, not 0 / 0
    rec, prec = precision_recall([0, 1], [0, 0], 1)
    assert prec.tolist() == [0.0, 1.0] and rec.tolist() == [0.0, 1.0]
    empty = precision_recall([], [], 3)
    assert empty[0].shape == empty[1].shape == (0,)


def test_precision_recall_without_positives_is_nan_recall_and_silent():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division warning, no UserWarning (voc_eval warns, not this)
        rec, prec = precision_recall([0.0, 0.0], [1.0, 1.0], 0)
    assert np.isnan(rec).all() and prec.tolist() == [0.0, 0.0]


def test_annotations_read_once_give_the_same_results():
    from pt_helpers.voc import Objects

    annotations = {"img": ANN_A["img"] + [obj("dog", [40, 40, 49, 49])], "other": [obj("cat", [1, 1, 5, 5])]}
    objects = Objects.from_annotations(annotations)
    for classname in ("cat", "dog"):
        a = match_detections(DETS_A, objects, classname)
        b = match_detections(DETS_A, annotations, classname)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        for x, y in zip(voc_eval(DETS_A, objects, classname), voc_eval(DETS_A, annotations, classname)):
            np.testing.assert_array_equal(x, y)
    assert voc_eval(DETS_A, objects, "dog")[2] == pytest.approx(0.5)  # the 2nd detection finds the dog: prec 1/2
    with pytest.raises(ValueError, match="'nope'"):
        voc_eval([("nope", 0.5, 0, 0, 1, 1)], objects, "cat")
