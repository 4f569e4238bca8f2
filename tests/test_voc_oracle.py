"""pt_helpers.voc.perturbed_oracle: each knob moves AP the way the metric says it should."""

from __future__ import annotations

import numpy as np
import pytest

from pt_helpers.voc import evaluate_detections, perturbed_oracle

CLASSES = ("bg", "a", "b")


def scene(n=60, seed=0):
    rng = np.random.default_rng(seed)
    boxes, labels, ann = [], [], {}
    for i in range(n):
        k = rng.integers(0, 4)
        xy = rng.integers(0, 40, size=(k, 2))
        b = np.column_stack([xy, xy + rng.integers(8, 24, size=(k, 2))]).astype(float)
        lab = rng.integers(1, 3, size=k)
        boxes.append(b)
        labels.append(lab)
        ann[f"{i}"] = [{"name": CLASSES[c], "bbox": (bb + 1).tolist(), "difficult": False} for bb, c in zip(b, lab)]
    return boxes, labels, ann


def mean_ap(all_boxes, ann):
    return evaluate_detections(all_boxes, list(ann), ann, CLASSES)["map"]


def test_perfect_oracle_scores_one_and_each_knob_costs():
    boxes, labels, ann = scene()
    perfect = perturbed_oracle(boxes, labels, 3, size=64, jitter=0, miss=0, duplicate=0, wrong_class=0,
                               false_positives=0)
    assert mean_ap(perfect, ann) == pytest.approx(1.0)
    assert all(a.shape == (0, 5) for a in perfect[0])
    for knob in ({"jitter": 0.3}, {"miss": 0.3}, {"wrong_class": 0.3}):
        kw = dict(jitter=0, miss=0, duplicate=0, wrong_class=0, false_positives=0) | knob
        assert mean_ap(perturbed_oracle(boxes, labels, 3, size=64, **kw), ann) < 0.9, knob
    # duplicates and background boxes are scored lower than the true boxes here, so they cost little
    kw = dict(jitter=0, miss=0, wrong_class=0)
    assert mean_ap(perturbed_oracle(boxes, labels, 3, size=64, duplicate=1.0, false_positives=3, **kw), ann) > 0.9


def test_deterministic_by_seed_and_in_bounds():
    boxes, labels, _ = scene()
    a = perturbed_oracle(boxes, labels, 3, size=64, seed=4)
    b = perturbed_oracle(boxes, labels, 3, size=64, seed=4)
    c = perturbed_oracle(boxes, labels, 3, size=64, seed=5)
    assert all(np.array_equal(x, y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
    assert not all(np.array_equal(x, y) for ra, rc in zip(a, c) for x, y in zip(ra, rc))
    rows = np.concatenate([x for row in a for x in row])
    assert (rows[:, :4] >= 0).all() and (rows[:, :4] <= 63).all()
    assert (rows[:, 2] >= rows[:, 0]).all() and (rows[:, 3] >= rows[:, 1]).all()


@pytest.mark.parametrize("kw, what", [
    (dict(n_classes=1), "n_classes"),
    (dict(miss=1.5), "miss"),
])
def test_bad_arguments(kw, what):
    boxes, labels, _ = scene(3)
    args = dict(n_classes=3, size=64) | kw
    with pytest.raises(ValueError, match=what):
        perturbed_oracle(boxes, labels, **args)


def test_label_out_of_range():
    with pytest.raises(ValueError, match="image 0 has label 3"):
        perturbed_oracle([np.zeros((1, 4))], [np.array([3])], 3, size=64)
