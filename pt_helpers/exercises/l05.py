"""Checkers for notebooks/05_cnn.ipynb: conv output size, conv parameter count, BatchNorm's running
statistics by hand, and the corrected (Kaiming fan-out) initialisation via ``Module.apply``."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .core import ExerciseError, call_learner, checker, passed, require_answer, require_written

__all__ = ["check_conv_out", "check_conv_params", "check_bn_update", "check_init_fn"]

# (H, kernel_size, stride, padding, dilation): floors, dilation, big strides, padding > 0
_CONV_CASES = [(28, 3, 1, 0, 1), (28, 3, 1, 1, 1), (28, 5, 2, 2, 1), (28, 3, 2, 1, 1), (27, 3, 2, 0, 1),
               (28, 3, 1, 0, 2), (28, 3, 1, 2, 2), (7, 7, 1, 0, 1), (32, 4, 3, 1, 1), (15, 3, 4, 1, 3)]


@checker
def check_conv_out(fn: Callable) -> None:
    """``fn(h, kernel_size, stride, padding, dilation) -> int``: the output height of ``nn.Conv2d``."""
    name = "conv_out"
    for h, k, s, p, d in _CONV_CASES:
        got = call_learner(fn, name, h, k, s, p, d)
        want = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)(torch.zeros(1, 1, h, h)).shape[-1]
        if isinstance(got, torch.Tensor):
            got = got.item()
        if not isinstance(got, (int, float)) or got != want:
            hint = " (did you round down with // ?)" if isinstance(got, float) else ""
            raise ExerciseError(f"{name}: wrong size for H={h}, kernel_size={k}, stride={s}, padding={p}, "
                                f"dilation={d}{hint}; build that nn.Conv2d and look at its output shape")
        if isinstance(got, float):
            raise ExerciseError(f"{name}: return an int (use // for the division)")
    passed(name, f"agrees with nn.Conv2d on {len(_CONV_CASES)} settings")


@checker
def check_conv_params(fn: Callable) -> None:
    """``fn(in_channels, out_channels, kernel_size, groups, bias) -> int``: ``nn.Conv2d``'s parameter count."""
    name = "conv_params"
    cases = [(1, 32, 3, 1, True), (32, 64, 3, 1, False), (4, 8, 5, 2, True), (16, 16, 3, 16, False),
             (6, 12, 1, 3, True), (3, 7, 3, 1, True)]
    for cin, cout, k, g, b in cases:
        got = require_answer(call_learner(fn, name, cin, cout, k, g, b), name)
        want = sum(p.numel() for p in nn.Conv2d(cin, cout, k, groups=g, bias=b).parameters())
        if got != want:
            what = "groups" if g > 1 else ("bias" if b else "kernel")
            raise ExerciseError(f"{name}: wrong count for in={cin}, out={cout}, kernel_size={k}, groups={g}, "
                                f"bias={b}; look at how {what} changes conv.weight.shape / conv.bias")
    passed(name, f"agrees with nn.Conv2d on {len(cases)} layers, including groups and bias=False")


@checker
def check_bn_update(fn: Callable) -> None:
    """``fn(running_mean, running_var, x, momentum) -> (new_mean, new_var)`` for a ``(B, C, H, W)`` batch,
    as one train-mode ``forward`` of ``nn.BatchNorm2d(C, momentum=momentum)`` updates them."""
    name = "bn_update"
    g = torch.Generator().manual_seed(5)
    for momentum, shape in ((0.1, (8, 3, 4, 4)), (0.5, (2, 2, 3, 3))):
        x = 3 * torch.randn(shape, generator=g) + 1
        bn = nn.BatchNorm2d(shape[1], momentum=momentum)
        bn.running_mean.copy_(torch.randn(shape[1], generator=g))
        bn.running_var.copy_(torch.rand(shape[1], generator=g) + 0.5)
        rm, rv = bn.running_mean.clone(), bn.running_var.clone()
        out = call_learner(fn, name, rm.clone(), rv.clone(), x.clone(), momentum)
        if not isinstance(out, tuple | list) or len(out) != 2:
            raise ExerciseError(f"{name}: return the pair (new_mean, new_var)")
        bn.train()(x)
        new_mean, new_var = out
        for label, got, want in (("running mean", new_mean, bn.running_mean), ("running var", new_var, bn.running_var)):
            if not isinstance(got, torch.Tensor) or got.shape != want.shape:
                raise ExerciseError(f"{name}: the {label} should be a tensor of shape {tuple(want.shape)} "
                                    "(one value per channel: reduce over dims 0, 2 and 3)")
            if not torch.allclose(got, want, atol=1e-5):
                hint = (" Is the batch variance unbiased (divide by n - 1)?" if label == "running var"
                        and torch.allclose(new_mean, bn.running_mean, atol=1e-5) else "")
                raise ExerciseError(f"{name}: the {label} differs from nn.BatchNorm2d's with momentum={momentum}; "
                                    f"running = (1 - momentum) * running + momentum * batch_statistic.{hint}")
    passed(name, "matches nn.BatchNorm2d's running statistics")


def _fresh_model() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.Flatten(), nn.Linear(256, 400))
    with torch.no_grad():  # make the "before" state unmistakable
        model[1].weight.uniform_(2, 3)
        model[1].bias.uniform_(2, 3)
        model[0].bias.uniform_(1, 2)
        model[4].bias.uniform_(1, 2)
    return model


def _kurtosis(w: torch.Tensor) -> float:
    """E[(w - mean)^4] / var^2: 3 for a normal distribution, 1.8 for a uniform one."""
    w = w.detach().double().flatten()
    d = w - w.mean()
    return ((d ** 4).mean() / (d ** 2).mean() ** 2).item()


def _require_normal(name: str, layer: str, weight: torch.Tensor, want: str) -> None:
    # thousands of weights: the kurtosis of normal samples stays within ±0.25 of 3, uniform ones near 1.8
    k = _kurtosis(weight)
    if k < 2.4:
        raise ExerciseError(f"{name}: the {layer} weights have the right std but are not normally distributed "
                            f"(kurtosis {k:.2f}; a normal distribution has 3, a uniform one 1.8); "
                            f"the exercise asks for {want}")


@checker
def check_init_fn(fn: Callable) -> None:
    """``model.apply(fn)`` must give Conv2d weights N(0, 2/(k·k·out_channels)) (Kaiming fan-out) and
    zero biases, BatchNorm γ = 1 and β = 0, Linear weights N(0, 0.01²) and zero biases."""
    name = "init_fn"
    if not callable(fn):
        raise ExerciseError(f"{name}: expected a function of one module, got {type(fn).__name__}")
    require_written(fn, name)
    model = _fresh_model()
    try:
        model.apply(fn)
    except Exception as err:  # noqa: BLE001 - learner code
        raise ExerciseError(f"{name}: model.apply(init_fn) raised {type(err).__name__}: {err}") from err
    conv, bn, lin = model[0], model[1], model[4]
    want_std = math.sqrt(2.0 / (3 * 3 * 64))
    std = conv.weight.std().item()
    if abs(std - want_std) > 0.1 * want_std:
        default = 1 / math.sqrt(3 * 32 * 9)
        if abs(std - default) < 0.1 * default:
            hint = " That is still PyTorch's default init: is your function changing Conv2d weights?"
        elif std > want_std:
            hint = (" The std is too large: fan_in would give a larger std than fan-out; "
                    "n = kernel_size[0] * kernel_size[1] * out_channels")
        else:
            hint = (" The std is too small: check the gain for ReLU and which n the std is computed from "
                    "(n = kernel_size[0] * kernel_size[1] * out_channels)")
        raise ExerciseError(f"{name}: Conv2d weights have std {std:.4f}, expected the Kaiming fan-out std.{hint}")
    if abs(conv.weight.mean().item()) > 0.01:
        raise ExerciseError(f"{name}: Conv2d weights should have mean 0")
    _require_normal(name, "Conv2d", conv.weight, "a Kaiming-normal init")
    if conv.bias.abs().max().item() != 0 or lin.bias.abs().max().item() != 0:
        raise ExerciseError(f"{name}: biases of Conv2d and Linear should be zero after init")
    if not (torch.all(bn.weight == 1) and torch.all(bn.bias == 0)):
        raise ExerciseError(f"{name}: BatchNorm2d should start as the identity: weight (γ) 1, bias (β) 0")
    lstd = lin.weight.std().item()
    if abs(lstd - 0.01) > 0.002:
        raise ExerciseError(f"{name}: Linear weights have std {lstd:.4f}, expected normal with std 0.01")
    _require_normal(name, "Linear", lin.weight, "a normal init")
    if any(p.requires_grad is False for p in model.parameters()):
        raise ExerciseError(f"{name}: some parameters no longer require grad; change values in place under "
                            "torch.no_grad() (or with nn.init.*), do not replace the tensors")
    passed(name, "Kaiming fan-out convs, identity BatchNorm, small Linear weights")
