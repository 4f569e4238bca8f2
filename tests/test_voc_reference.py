"""voc_eval (vectorised) against the two per-detection loops of pt_helpers.voc.reference: same numbers.

py-faster-rcnn's loop (``voc_eval_loop``, NumPy per detection) and a plain-Python one (``voc_eval_python``,
scalar IoU). Both keep py-faster-rcnn's match rule, IoU > threshold, so voc_eval is compared with them under
``match="py-faster-rcnn"`` (its default, the official devkit's IoU >= threshold, differs only on ties).
Their speed is measured by benchmarks/bench_voc_eval.py, never asserted here.
"""

from __future__ import annotations

import numpy as np
import pytest

from pt_helpers.voc import Detections, Objects, voc_ap, voc_eval
from pt_helpers.voc.reference import voc_ap_loop, voc_eval_loop, voc_eval_python

CLASSES = ("cat", "dog", "bird")
PFR = "py-faster-rcnn"  # the loops' match rule (IoU > threshold)


def synthetic(n_images: int, seed: int = 0):
    """Annotations and detections with every case the matcher must handle.

    Per image 0-6 objects (10 % difficult, overlapping boxes common); detections: jittered copies of
    the objects (some twice: duplicates), boxes on the wrong class, and random boxes; scores rounded
    to 2 decimals so that ties occur.
    """
    rng = np.random.default_rng(seed)
    annotations, detections = {}, {c: [] for c in CLASSES}
    for i in range(n_images):
        img = f"{i:06d}"
        objs = []
        for _ in range(rng.integers(0, 7)):
            x, y = rng.integers(1, 60, size=2)
            w, h = rng.integers(4, 30, size=2)
            objs.append({"name": str(rng.choice(CLASSES)), "bbox": [x, y, x + w, y + h],
                         "difficult": bool(rng.random() < 0.1), "truncated": False})
        annotations[img] = objs
        for o in objs:
            for _ in range(rng.choice([0, 1, 1, 2])):
                j = rng.normal(0, 1.5, size=4)
                x1, y1 = o["bbox"][0] + j[0], o["bbox"][1] + j[1]
                box = [x1, y1, max(x1, o["bbox"][2] + j[2]), max(y1, o["bbox"][3] + j[3])]
                name = o["name"] if rng.random() < 0.85 else str(rng.choice(CLASSES))
                detections[name].append((img, round(rng.uniform(0.2, 1.0), 2), *box))
        for _ in range(rng.integers(0, 3)):
            x, y = rng.uniform(0, 70, size=2)
            detections[str(rng.choice(CLASSES))].append((img, round(rng.random() * 0.6, 2), x, y, x + 10, y + 12))
    return annotations, detections


@pytest.fixture(scope="module")
def data():
    return synthetic(400, seed=1)


@pytest.mark.parametrize("use_07_metric", [False, True])
@pytest.mark.parametrize("pixel_offset", [1.0, 0.0])
def test_vectorised_equals_loop(data, use_07_metric, pixel_offset):
    annotations, detections = data
    for c in CLASSES:
        assert len(detections[c]) > 300
        kw = dict(use_07_metric=use_07_metric, pixel_offset=pixel_offset)
        rec, prec, ap = voc_eval(detections[c], annotations, c, match=PFR, **kw)
        rec_l, prec_l, ap_l = voc_eval_loop(detections[c], annotations, c, **kw)
        assert rec.shape == rec_l.shape == (len(detections[c]),)
        np.testing.assert_allclose(rec, rec_l, rtol=0, atol=1e-9)
        np.testing.assert_allclose(prec, prec_l, rtol=0, atol=1e-9)
        assert abs(ap - ap_l) <= 1e-9
        assert 0.2 < ap < 0.95, "the synthetic data must be neither trivial nor hopeless"


def test_vectorised_equals_loop_on_columns(data):
    annotations, detections = data
    for c in CLASSES:
        cols = Detections.from_tuples(detections[c])
        a, b = voc_eval(cols, annotations, c, match=PFR), voc_eval_loop(cols, annotations, c)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert a[2] == b[2] == voc_eval(detections[c], annotations, c, match=PFR)[2]


@pytest.mark.parametrize("iou_thresh", [0.3, 0.7])
def test_vectorised_equals_loop_other_thresholds(data, iou_thresh):
    annotations, detections = data
    for c in CLASSES:
        a = voc_eval(detections[c], annotations, c, iou_thresh=iou_thresh, match=PFR)
        b = voc_eval_loop(detections[c], annotations, c, iou_thresh=iou_thresh)
        np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-9)
        assert abs(a[2] - b[2]) <= 1e-9


def test_voc_ap_equals_the_original_loop():
    rng = np.random.default_rng(2)
    for _ in range(100):
        n = rng.integers(1, 60)
        hits = rng.random(n) < 0.5
        rec = np.cumsum(hits) / (hits.sum() + rng.integers(0, 5) + 1)
        prec = np.cumsum(hits) / np.arange(1, n + 1)
        for m07 in (False, True):
            assert voc_ap(rec, prec, m07) == voc_ap_loop(rec.copy(), prec.copy(), m07)


@pytest.mark.parametrize("use_07_metric", [False, True])
@pytest.mark.parametrize("pixel_offset", [1.0, 0.0])
def test_plain_python_loop_equals_both(data, use_07_metric, pixel_offset):
    annotations, detections = data
    for c in CLASSES:
        kw = dict(use_07_metric=use_07_metric, pixel_offset=pixel_offset)
        want = voc_eval(detections[c], annotations, c, match=PFR, **kw)
        for got in (voc_eval_python(detections[c], annotations, c, **kw),
                    voc_eval_python(Detections.from_tuples(detections[c]), annotations, c, **kw)):
            np.testing.assert_allclose(got[0], want[0], rtol=0, atol=1e-12)
            np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-12)
            assert abs(got[2] - want[2]) <= 1e-12
        assert abs(voc_eval_loop(detections[c], annotations, c, **kw)[2] - want[2]) <= 1e-12


def random_float_case(n_images: int, seed: int):
    """The benchmark's kind of data: float boxes anywhere, up to 6 objects and 10 detections per image."""
    rng = np.random.default_rng(seed)
    annotations, detections = {}, {c: [] for c in CLASSES}
    for i in range(n_images):
        img = f"{i:06d}"
        xy, wh = rng.uniform(0, 100, size=(int(rng.integers(0, 7)), 2)), rng.uniform(0, 40, size=(6, 2))
        annotations[img] = [{"name": str(rng.choice(CLASSES)), "bbox": [*p, *(p + s)],
                             "difficult": bool(rng.random() < 0.1)} for p, s in zip(xy, wh)]
        for _ in range(int(rng.integers(0, 11))):
            objs = annotations[img]
            if objs and rng.random() < 0.6:
                o = objs[int(rng.integers(len(objs)))]
                box = np.asarray(o["bbox"]) + rng.normal(0, 3, size=4)
                box[2:] = np.maximum(box[2:], box[:2])
                name, score = o["name"] if rng.random() < 0.9 else str(rng.choice(CLASSES)), rng.uniform(0.3, 1)
            else:
                p = rng.uniform(0, 100, size=2)
                box, name = np.concatenate([p, p + rng.uniform(0, 40, size=2)]), str(rng.choice(CLASSES))
                score = rng.uniform(0, 0.7)
            detections[name].append((img, float(score), *box.tolist()))
    return annotations, detections


def test_all_three_agree_on_random_float_cases():
    for seed in range(3):
        annotations, detections = random_float_case(300, seed)
        objects = Objects.from_annotations(annotations)  # the annotations read once, for every class
        for c in CLASSES:
            want = voc_eval_loop(detections[c], annotations, c)
            for got in (voc_eval(detections[c], annotations, c, match=PFR),
                        voc_eval(detections[c], objects, c, match=PFR), voc_eval_python(detections[c], annotations, c)):
                for a, b in zip(got[:2], want[:2]):
                    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
                assert abs(got[2] - want[2]) <= 1e-12
            assert 0.1 < want[2] < 0.9, "neither trivial nor hopeless"


def test_the_loops_keep_py_faster_rcnns_strict_rule():
    # IoU exactly 0.5 (50 of 100 pixels): a FP in py-faster-rcnn's loop and its plain-Python copy, as in
    # voc_eval(match="py-faster-rcnn"); the default (the official devkit's >=) makes it a TP.
    ann = {"a": [{"name": "cat", "bbox": [0, 0, 9, 9], "difficult": False}]}
    tie = [("a", 0.9, 0, 0, 4, 9), ("a", 0.8, 30, 30, 39, 39)]
    for loop in (voc_eval_loop, voc_eval_python):
        rec, prec, ap = loop(tie, ann, "cat")
        assert rec.tolist() == [0, 0] and ap == 0.0
        assert ap == voc_eval(tie, ann, "cat", match=PFR)[2]
    assert voc_eval(tie, ann, "cat")[2] == 1.0


def test_integer_boxes_make_ties_and_the_rules_differ(data):
    """On 1-pixel grids IoU = 0.5 exactly happens; only then do the two rules disagree."""
    annotations, detections = data
    ann = {img: [{**o, "bbox": [int(v) for v in o["bbox"]]} for o in objs] for img, objs in annotations.items()}
    differ = 0
    for c in CLASSES:
        dets = [(d[0], d[1], *(round(v) for v in d[2:])) for d in detections[c]]
        loop = voc_eval_loop(dets, ann, c)
        strict = voc_eval(dets, ann, c, match=PFR)
        np.testing.assert_allclose(strict[1], loop[1], rtol=0, atol=1e-12)
        devkit = voc_eval(dets, ann, c)
        assert devkit[0][-1] >= strict[0][-1]  # >= finds at least what > finds
        differ += int(not np.array_equal(devkit[1], strict[1]))
    assert differ >= 1, "rounded boxes should produce at least one IoU of exactly 0.5"
