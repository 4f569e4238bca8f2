"""Checkers of lesson 07 accept a right answer and reject typical wrong ones with a useful message."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from exercise_helpers import assert_blank_reported

from pt_helpers.exercises import ExerciseError, l07


def _rejects(check, fn, *words):
    with pytest.raises(ExerciseError) as info:
        check(fn)
    for w in words:
        assert w in str(info.value), str(info.value)


# --- IoU of one class by hand -------------------------------------------------------------------------

def _iou(pred, target, k):
    inter = ((pred == k) & (target == k)).sum().item()
    union = ((pred == k) | (target == k)).sum().item()
    return inter / union if union else float("nan")


def test_class_iou_accepts_the_definition(capsys):
    l07.check_class_iou(_iou)
    assert "✓ class_iou" in capsys.readouterr().out


def test_class_iou_rejects_common_mistakes():
    assert_blank_reported(l07.check_class_iou, lambda p, t, k: None)
    # intersection over the target's area (that is recall, not IoU)
    _rejects(l07.check_class_iou, lambda p, t, k: ((p == k) & (t == k)).sum().item() / max((t == k).sum().item(), 1),
             "union")
    # absent class scored as 0 (or 1) instead of NaN
    _rejects(l07.check_class_iou, lambda p, t, k: _iou(p, t, k) if not math.isnan(_iou(p, t, k)) else 0.0, "NaN")
    # a tensor instead of a Python float is accepted only if it holds the right number
    l07.check_class_iou(lambda p, t, k: torch.tensor(_iou(p, t, k)))
    # integer division
    _rejects(l07.check_class_iou, lambda p, t, k: ((p == k) & (t == k)).sum().item() // max(
        ((p == k) | (t == k)).sum().item(), 1), "")


# --- output size of a transposed convolution -----------------------------------------------------------

def _size(h, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (h - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def test_transposed_size_accepts_the_formula(capsys):
    l07.check_transposed_output_size(_size)
    assert "✓ transposed_output_size" in capsys.readouterr().out


def test_transposed_size_rejects_the_conv_formula_and_missing_terms():
    _rejects(l07.check_transposed_output_size,
             lambda h, kernel_size, stride=1, padding=0, output_padding=0, dilation=1:
             (h + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1, "ConvTranspose2d")
    _rejects(l07.check_transposed_output_size,
             lambda h, kernel_size, stride=1, padding=0, output_padding=0, dilation=1: h * stride, "")
    _rejects(l07.check_transposed_output_size,  # forgets output_padding
             lambda h, kernel_size, stride=1, padding=0, output_padding=0, dilation=1:
             _size(h, kernel_size, stride, padding, 0, dilation), "output_padding")
    _rejects(l07.check_transposed_output_size,  # forgets dilation
             lambda h, kernel_size, stride=1, padding=0, output_padding=0, dilation=1:
             _size(h, kernel_size, stride, padding, output_padding, 1), "dilation")


# --- pad to match -------------------------------------------------------------------------------------

def _pad(x1, x2):
    dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
    return F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])


def test_pad_to_match_accepts_the_unet_fix(capsys):
    l07.check_pad_to_match(_pad)
    assert "✓ pad_to_match" in capsys.readouterr().out


def test_pad_to_match_rejects_swapped_axes_wrong_side_and_interpolation():
    def swapped(x1, x2):
        dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
        return F.pad(x1, [dy // 2, dy - dy // 2, dx // 2, dx - dx // 2])
    _rejects(l07.check_pad_to_match, swapped, "shape")

    def left_heavy(x1, x2):
        dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
        return F.pad(x1, [dx - dx // 2, dx // 2, dy - dy // 2, dy // 2])
    _rejects(l07.check_pad_to_match, left_heavy, "values")
    _rejects(l07.check_pad_to_match, lambda x1, x2: F.interpolate(x1, size=x2.shape[-2:]), "values")
    assert_blank_reported(l07.check_pad_to_match, lambda x1, x2: None)
