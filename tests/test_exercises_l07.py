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


# --- freeze the encoder: requires_grad, the optimiser, BatchNorm statistics -----------------------------

def _stages(model):
    return [model.inc, model.down1, model.down2, model.down3, model.down4]


def _freeze(model, lr):
    for stage in _stages(model):
        stage.requires_grad_(False)
        stage.eval()                                              # BatchNorm keeps its running statistics
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)


def test_freeze_encoder_accepts_a_correct_answer(capsys):
    l07.check_freeze_encoder(_freeze)
    out = capsys.readouterr().out
    assert "✓ freeze_encoder" in out and "trainable" in out


def test_freeze_encoder_accepts_parameter_groups_and_sgd():
    def groups(model, lr):
        for stage in _stages(model):
            for p in stage.parameters():
                p.requires_grad = False
            for m in stage.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        ups = [p for n, p in model.named_parameters() if n.startswith("up")]
        return torch.optim.SGD([{"params": ups}, {"params": model.outc.parameters()}], lr=lr, momentum=0.9)

    l07.check_freeze_encoder(groups)


def test_freeze_encoder_blank_and_not_an_optimizer():
    def stub(model, lr):
        ...

    assert_blank_reported(l07.check_freeze_encoder, stub)
    assert_blank_reported(l07.check_freeze_encoder, lambda model, lr: None)

    def params_only(model, lr):
        _freeze(model, lr)
        return [p for p in model.parameters() if p.requires_grad]

    _rejects(l07.check_freeze_encoder, params_only, "torch.optim", "list")


def test_freeze_encoder_rejects_requires_grad_mistakes():
    def only_first(model, lr):
        model.inc.requires_grad_(False)
        model.inc.eval()
        return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    _rejects(l07.check_freeze_encoder, only_first, "down1", "requires_grad")

    def everything(model, lr):
        model.requires_grad_(False)
        for stage in _stages(model):
            stage.eval()
        return torch.optim.AdamW(model.outc.parameters(), lr=lr)   # something, so it is not blank

    _rejects(l07.check_freeze_encoder, everything, "decoder", "trainable")


def test_freeze_encoder_rejects_optimizer_mistakes():
    def built_before(model, lr):
        opt = torch.optim.AdamW(model.parameters(), lr=lr)        # holds the encoder too
        for stage in _stages(model):
            stage.requires_grad_(False)
            stage.eval()
        return opt

    _rejects(l07.check_freeze_encoder, built_before, "frozen", "after")

    def head_only(model, lr):
        _freeze(model, lr)
        return torch.optim.AdamW(model.outc.parameters(), lr=lr)

    _rejects(l07.check_freeze_encoder, head_only, "lacks", "up1")

    _rejects(l07.check_freeze_encoder, lambda model, lr: _freeze(model, 1e-3), "lr")


def test_freeze_encoder_rejects_batchnorm_mistakes():
    def grads_only(model, lr):
        for stage in _stages(model):
            stage.requires_grad_(False)                           # BatchNorm still in train mode
        return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    _rejects(l07.check_freeze_encoder, grads_only, "running_mean", "eval()")

    def whole_model_eval(model, lr):
        opt = _freeze(model, lr)
        model.eval()
        return opt

    _rejects(l07.check_freeze_encoder, whole_model_eval, "decoder", "BatchNorm")

    def momentum_zero(model, lr):
        for stage in _stages(model):
            stage.requires_grad_(False)
            for m in stage.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.momentum = 0.0                              # running stats frozen, batch stats still used
        return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)

    _rejects(l07.check_freeze_encoder, momentum_zero, "batch's own statistics", "eval()")
