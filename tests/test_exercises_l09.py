"""Checkers of lesson 09 accept right answers and reject typical wrong ones with a useful message."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from exercise_helpers import assert_blank_reported

from pt_helpers.exercises import ExerciseError, l09


def _rejects(check, answer, *words):
    with pytest.raises(ExerciseError) as info:
        check(answer)
    for w in words:
        assert w in str(info.value), str(info.value)


# --- IoU with the +1 convention -----------------------------------------------------------------------

def _iou(a, b, off=1):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]) + off, 0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]) + off, 0)
    inter = iw * ih
    area = lambda r: (r[2] - r[0] + off) * (r[3] - r[1] + off)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_iou_accepts_the_devkit_formula(capsys):
    l09.check_iou_plus_one(_iou)
    assert "✓ iou_plus_one" in capsys.readouterr().out
    l09.check_iou_plus_one(lambda a, b: torch.tensor(_iou(a, b)))  # a one-element tensor is fine


def test_iou_rejects_common_mistakes():
    assert_blank_reported(l09.check_iou_plus_one, lambda a, b: None)
    _rejects(l09.check_iou_plus_one, lambda a, b: _iou(a, b, off=0), "without the +1")

    def unclamped(a, b):
        iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
        ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
        inter = iw * ih
        area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
        return inter / (area(a) + area(b) - inter)
    _rejects(l09.check_iou_plus_one, unclamped, "clamp")
    _rejects(l09.check_iou_plus_one, lambda a, b: [_iou(a, b)], "one number")


# --- matching table ------------------------------------------------------------------------------------

def test_match_labels_accepts_the_devkit_table(capsys):
    l09.check_match_labels(["TP", "FP", "FP", "TP", "ignored", "FP"])
    assert "✓ match_labels" in capsys.readouterr().out


@pytest.mark.parametrize("labels, words", [
    (["TP", "FP"], ["6 labels"]),
    (["TP", "TP", "FP", "TP", "ignored", "FP"], ["rank 2", "take it already"]),  # duplicate counted as TP
    (["TP", "FP", "FP", "TP", "FP", "FP"], ["rank 5", "difficult"]),  # difficult counted as FP
    (["TP", "FP", "FP", "TP", "ignored", "maybe"], ["'maybe'"]),
])
def test_match_labels_rejects_wrong_tables(labels, words):
    _rejects(l09.check_match_labels, labels, *words)


def test_match_labels_reports_a_blank_table():
    assert_blank_reported(l09.check_match_labels, None)


# --- precision and recall --------------------------------------------------------------------------------

def _pr(tp, fp, npos):
    ctp, cfp = np.cumsum(tp), np.cumsum(fp)
    return ctp / npos, ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)


def test_precision_recall_accepts_the_devkit(capsys):
    l09.check_precision_recall(_pr)
    assert "✓ precision_recall" in capsys.readouterr().out


def test_precision_recall_rejects_common_mistakes():
    assert_blank_reported(l09.check_precision_recall, lambda tp, fp, n: None)
    with np.errstate(invalid="ignore", divide="ignore"):
        _rejects(l09.check_precision_recall,
                 lambda tp, fp, n: (np.cumsum(tp) / n, np.cumsum(tp) / (np.cumsum(tp) + np.cumsum(fp))), "eps")
    _rejects(l09.check_precision_recall, lambda tp, fp, n: (tp / n, _pr(tp, fp, n)[1]), "cumulative TP / npos")
    _rejects(l09.check_precision_recall, lambda tp, fp, n: (_pr(tp, fp, n)[0], np.cumsum(tp) / np.arange(1, len(tp) + 1)
                                                            if tp.sum() else np.zeros(len(tp))), "precision")
    _rejects(l09.check_precision_recall, lambda tp, fp, n: _pr(tp, fp, n)[0], "pair")


# --- 11-point AP -------------------------------------------------------------------------------------------

def _ap11(rec, prec):
    return sum((prec[rec >= t].max() if (rec >= t).any() else 0.0) for t in np.arange(0, 1.1, 0.1)) / 11


def test_ap_11_point_accepts_the_devkit(capsys):
    l09.check_ap_11_point(_ap11)
    assert "✓ ap_11_point" in capsys.readouterr().out
    # np.linspace thresholds are fine too (no test curve has a recall exactly on a threshold)
    l09.check_ap_11_point(lambda r, p: sum((p[r >= t].max() if (r >= t).any() else 0.0)
                                           for t in np.linspace(0, 1, 11)) / 11)


def test_ap_11_point_rejects_common_mistakes():
    from pt_helpers.voc import voc_ap
    assert_blank_reported(l09.check_ap_11_point, lambda r, p: None)
    _rejects(l09.check_ap_11_point, lambda r, p: voc_ap(r, p), "area under the envelope")
    # precision at the first point with recall >= t instead of the max over all of them
    _rejects(l09.check_ap_11_point, lambda r, p: sum((p[np.argmax(r >= t)] if (r >= t).any() else 0.0)
                                                     for t in np.arange(0, 1.1, 0.1)) / 11, "MAX")
    # missing thresholds filled with the last precision instead of 0
    _rejects(l09.check_ap_11_point, lambda r, p: sum((p[r >= t].max() if (r >= t).any() else p[-1])
                                                     for t in np.arange(0, 1.1, 0.1)) / 11, "precision 0")
