"""Checkers for notebooks/07_unet.ipynb (IoU of one class, transposed-conv output size, pad-to-match)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .core import ExerciseError, call_learner, checker, expect_close, passed

__all__ = ["check_class_iou", "check_transposed_output_size", "check_pad_to_match"]


def _as_float(value: object, name: str, what: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ExerciseError(f"{name}: {what} should be one number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExerciseError(f"{name}: {what} should be a number, got {type(value).__name__}")
    return float(value)


@checker
def check_class_iou(fn: Callable) -> None:
    """``fn(pred, target, k) -> float``: IoU of class ``k`` between two label maps; NaN if k is in neither."""
    name = "class_iou"
    pred = torch.tensor([[0, 1, 1, 2], [0, 1, 2, 2], [3, 3, 0, 0]])
    target = torch.tensor([[0, 1, 1, 1], [0, 0, 2, 2], [3, 0, 0, 0]])
    g = torch.Generator().manual_seed(7)
    rand_t = torch.randint(0, 4, (3, 9, 9), generator=g)
    noise = torch.randint(0, 4, (3, 9, 9), generator=g)
    rand_p = torch.where(torch.rand(rand_t.shape, generator=g) < 0.6, rand_t, noise)
    cases = [(pred, target, k) for k in range(4)] + [(rand_p, rand_t, k) for k in range(4)]
    cases.append((torch.tensor([0, 2, 2]), torch.tensor([0, 0, 1]), 2))  # only predicted: 0
    for p, t, k in cases:
        inter = ((p == k) & (t == k)).sum().item()
        union = ((p == k) | (t == k)).sum().item()
        want = inter / union
        got = _as_float(call_learner(fn, name, p.clone(), t.clone(), k), name, f"the IoU of class {k}")
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            target_area = (t == k).sum().item()
            hint = (" — that is intersection / target area (recall); IoU divides by the union"
                    if target_area and math.isclose(got, inter / target_area) else "")
            raise ExerciseError(f"{name}: class {k} of a {tuple(t.shape)} example: got {got:.4f}, which is not "
                                f"intersection / union{hint}")
    absent = call_learner(fn, name, pred.clone(), target.clone(), 5)  # class 5 appears nowhere
    if not math.isnan(_as_float(absent, name, "the IoU of an absent class")):
        raise ExerciseError(f"{name}: a class in neither map has 0 / 0 = undefined; return NaN (float('nan')) so that "
                            "the mean over classes can skip it (torch.nanmean)")
    passed(name, "matches intersection / union, and NaN for a class that appears nowhere")


@checker
def check_transposed_output_size(fn: Callable) -> None:
    """``fn(h, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> int``, compared with
    the height of what ``nn.ConvTranspose2d`` really returns."""
    name = "transposed_output_size"
    settings = [  # (h, k, s, p, op, d); output_padding must be < stride or < dilation
        (7, 2, 2, 0, 0, 1), (4, 3, 1, 0, 0, 1), (5, 3, 2, 1, 0, 1), (5, 3, 2, 1, 1, 1),
        (8, 4, 2, 1, 0, 1), (3, 3, 3, 0, 2, 1), (6, 3, 1, 1, 0, 2), (5, 3, 2, 0, 1, 2), (1, 5, 4, 2, 3, 1),
    ]
    x_cache: dict[int, torch.Tensor] = {}
    for h, k, s, p, op, d in settings:
        layer = nn.ConvTranspose2d(1, 1, kernel_size=k, stride=s, padding=p, output_padding=op, dilation=d)
        x = x_cache.setdefault(h, torch.zeros(1, 1, h, h))
        with torch.no_grad():
            want = layer(x).shape[-1]
        got = call_learner(fn, name, h, k, stride=s, padding=p, output_padding=op, dilation=d)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if not isinstance(got, int) or isinstance(got, bool):
            raise ExerciseError(f"{name}: return an int (a size in pixels), got {type(got).__name__}")
        if got != want:
            conv = (h + 2 * p - d * (k - 1) - 1) // s + 1
            no_op = want - op
            no_d = (h - 1) * s - 2 * p + (k - 1) + op + 1
            if got == conv and conv != want:
                hint = "that is the size of an ordinary Conv2d; ConvTranspose2d runs the relation backwards"
            elif op and got == no_op:
                hint = "output_padding adds that many rows at the end"
            elif d > 1 and got == no_d:
                hint = "dilation spreads the kernel: it covers dilation * (kernel_size - 1) + 1 pixels"
            else:
                hint = "start from (h - 1) * stride, then account for the kernel, the padding and the rest"
            raise ExerciseError(f"{name}(h={h}, kernel_size={k}, stride={s}, padding={p}, output_padding={op}, "
                                f"dilation={d}) returned {got}, but ConvTranspose2d gives another size: {hint}")
    passed(name, f"agrees with nn.ConvTranspose2d on {len(settings)} settings")


@checker
def check_pad_to_match(fn: Callable) -> None:
    """``fn(x1, x2)``: ``x1`` zero-padded to ``x2``'s height and width, the extra pixel (odd difference)
    on the bottom/right, as U-Net's ``Up`` does before ``torch.cat``."""
    name = "pad_to_match"
    g = torch.Generator().manual_seed(5)
    for (h1, w1), (h2, w2) in [((14, 14), (15, 15)), ((14, 16), (15, 16)), ((8, 8), (8, 9)), ((6, 7), (9, 10)),
                               ((10, 10), (10, 10))]:
        x1 = torch.randn(2, 3, h1, w1, generator=g)
        x2 = torch.randn(2, 4, h2, w2, generator=g)
        dy, dx = h2 - h1, w2 - w1
        want = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        got = call_learner(fn, name, x1.clone(), x2.clone())
        expect_close(got, want, name, what=f"x1 {h1}x{w1} padded to match x2 {h2}x{w2}", atol=0, rtol=0)
    passed(name, "pads like Up: left/top get diff // 2, right/bottom the rest")
