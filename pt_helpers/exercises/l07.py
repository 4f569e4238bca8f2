"""Checkers for notebooks/07_unet.ipynb (IoU of one class, transposed-conv output size, pad-to-match,
freezing a U-Net's encoder)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .core import ExerciseError, call_learner, checker, expect_close, passed

__all__ = ["check_class_iou", "check_transposed_output_size", "check_pad_to_match", "check_freeze_encoder"]


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


_ENCODER = ("inc", "down1", "down2", "down3", "down4")  # the UNet stages that form its encoder


def _first(names: list[str]) -> str:
    return names[0] + (f" (and {len(names) - 1} more)" if len(names) > 1 else "")


@checker
def check_freeze_encoder(fn: Callable) -> None:
    """``fn(model, lr) -> torch.optim.Optimizer``: freeze the encoder of a :class:`pt_helpers.models.unet.UNet`
    and return the optimiser of what still trains.

    Frozen means: every parameter of ``inc``, ``down1`` .. ``down4`` has ``requires_grad=False`` and their
    BatchNorm layers are in eval mode (normalise with, and keep, their running statistics). The decoder
    (``up1`` .. ``up4``, ``outc``) stays trainable and in train mode. The optimiser (any ``torch.optim`` class,
    one or several parameter groups) holds exactly the trainable parameters, every group at learning rate
    ``lr``. ``model`` arrives in train mode. ``model.train()`` (``fit`` calls it every epoch) puts the
    BatchNorm layers back into training mode: call ``freeze_encoder`` (or ``.eval()`` on the encoder) after it.
    """
    name = "freeze_encoder"
    from ..models.unet import UNet

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = UNet(n_channels=1, n_classes=3, base_channels=4)
        x = torch.randn(4, 1, 16, 16)
    model.train()
    with torch.no_grad():
        model(x + 1.0)  # running statistics away from their (0, 1) start
    lr = 3e-4
    opt = call_learner(fn, name, model, lr)
    if not isinstance(opt, torch.optim.Optimizer):
        raise ExerciseError(f"{name}: return the optimiser (a torch.optim.Optimizer such as torch.optim.AdamW "
                            f"built from the trainable parameters), got a {type(opt).__name__}")
    enc = {n: p for n, p in model.named_parameters() if n.split(".")[0] in _ENCODER}
    dec = {n: p for n, p in model.named_parameters() if n.split(".")[0] not in _ENCODER}
    still = [n for n, p in enc.items() if p.requires_grad]
    if still:
        raise ExerciseError(f"{name}: the encoder parameter {_first(still)} still has requires_grad=True; freeze "
                            "every parameter of inc, down1, down2, down3 and down4 (module.requires_grad_(False))")
    frozen_dec = [n for n, p in dec.items() if not p.requires_grad]
    if frozen_dec:
        raise ExerciseError(f"{name}: the decoder must stay trainable, but {_first(frozen_dec)} has "
                            "requires_grad=False; freeze only the encoder stages (up1 .. up4 and outc train)")
    held = {id(p) for group in opt.param_groups for p in group["params"]}
    frozen_held = [n for n, p in enc.items() if id(p) in held]
    if frozen_held:
        raise ExerciseError(f"{name}: the optimiser holds {len(frozen_held)} frozen encoder tensors "
                            f"({_first(frozen_held)}): was it built before requires_grad=False was set? Build it "
                            "after freezing, from the parameters that still require grad, so that it holds "
                            "exactly what trains")
    lacking = [n for n, p in dec.items() if id(p) not in held]
    if lacking:
        raise ExerciseError(f"{name}: the optimiser lacks {len(lacking)} trainable tensors ({_first(lacking)}); "
                            "give it every parameter that still requires grad")
    wrong_lr = sorted({g["lr"] for g in opt.param_groups if not math.isclose(g["lr"], lr)})
    if wrong_lr:
        raise ExerciseError(f"{name}: every parameter group should use the lr argument ({lr}), found lr={wrong_lr}")

    bns = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    enc_bn = [(n, m) for n, m in bns if n.split(".")[0] in _ENCODER]
    dec_bn = [(n, m) for n, m in bns if n.split(".")[0] not in _ENCODER]
    before = {n: (m.running_mean.clone(), m.running_var.clone()) for n, m in bns}
    with torch.no_grad():
        model(x)  # the forward pass of a training step, in the modes the learner left
    moved = [n for n, m in enc_bn if not (torch.equal(m.running_mean, before[n][0])
                                          and torch.equal(m.running_var, before[n][1]))]
    if moved:
        raise ExerciseError(f"{name}: a forward pass changed running_mean / running_var of the frozen encoder's "
                            f"BatchNorm layer {_first(moved)}: requires_grad=False does not stop BatchNorm from "
                            "updating its statistics in train mode; put the encoder stages in eval mode (.eval())")
    still_dec = [n for n, m in dec_bn if torch.equal(m.running_mean, before[n][0])]
    if still_dec:
        raise ExerciseError(f"{name}: the decoder's BatchNorm layers ({_first(still_dec)}) no longer update their "
                            "statistics: model.eval() switches every layer; only the encoder is frozen, the "
                            "decoder stays in train mode")
    training = [n for n, m in enc_bn if m.training]
    if training:
        raise ExerciseError(f"{name}: the encoder's BatchNorm layer {_first(training)} is still in training mode, "
                            "so it normalises each batch with the batch's own statistics (momentum=0 only keeps "
                            "the running averages still): the frozen encoder would compute other features in "
                            "training than in evaluation; put the encoder stages in eval mode (.eval())")
    n_train = sum(p.numel() for p in dec.values())
    n_all = n_train + sum(p.numel() for p in enc.values())
    passed(name, f"{n_train:,} of {n_all:,} parameters trainable, the encoder's BatchNorm statistics stay fixed; "
                 "model.train() switches them back, so freeze after it")
