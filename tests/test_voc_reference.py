"""voc_eval (vectorised) against py-faster-rcnn's per-detection loop: same numbers, much faster.

The full-size benchmark (3,000 images) is benchmarks/bench_voc_eval.py; this test uses a smaller
set and a looser speed ratio so that it stays quick and robust on a busy machine.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from pt_helpers.voc import Detections, voc_ap, voc_eval
from pt_helpers.voc.reference import voc_ap_loop, voc_eval_loop

CLASSES = ("cat", "dog", "bird")


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
        rec, prec, ap = voc_eval(detections[c], annotations, c, **kw)
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
        a, b = voc_eval(cols, annotations, c), voc_eval_loop(cols, annotations, c)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert a[2] == b[2] == voc_eval(detections[c], annotations, c)[2]


@pytest.mark.parametrize("iou_thresh", [0.3, 0.7])
def test_vectorised_equals_loop_other_thresholds(data, iou_thresh):
    annotations, detections = data
    for c in CLASSES:
        a = voc_eval(detections[c], annotations, c, iou_thresh=iou_thresh)
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


def _best_of(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def test_vectorised_is_much_faster(data):
    """The benchmark demands >= 20x on 3,000 images; a loose 5x here keeps the test robust under load."""
    annotations, detections = data
    dets = detections["cat"]
    t_vec = _best_of(lambda: voc_eval(dets, annotations, "cat"))
    t_loop = _best_of(lambda: voc_eval_loop(dets, annotations, "cat"))
    assert t_loop / t_vec > 5, f"vectorised {t_vec * 1e3:.1f} ms vs loop {t_loop * 1e3:.1f} ms"
