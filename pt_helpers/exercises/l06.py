"""Checkers for notebooks/06_models.ipynb: a pre-activation residual block, replacing and freezing a
ResNet head, and reading intermediate shapes with forward hooks."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .core import ExerciseError, call_learner, checker, passed, require_answer, require_written

__all__ = ["check_preact_block", "check_new_head", "check_feature_shapes"]


@checker
def check_preact_block(cls: type) -> None:
    """``cls(channels)``: y = x + conv(ReLU(BN(conv(ReLU(BN(x)))))), 3×3 convs without bias, padding 1."""
    name = "PreActBlock"
    require_written(cls, name)
    try:
        block = cls(6)
    except Exception as err:  # noqa: BLE001 - learner code
        raise ExerciseError(f"{name}: PreActBlock(6) raised {type(err).__name__}: {err}") from err
    if not isinstance(block, nn.Module):
        raise ExerciseError(f"{name}: the block must be an nn.Module subclass")
    n_params = sum(p.numel() for p in block.parameters())
    want = 2 * 6 * 6 * 9 + 2 * 2 * 6  # two 3×3 convs without bias, two BatchNorms (γ, β)
    if n_params == 0:
        raise ExerciseError(f"{name}: the block has no registered parameters; assign the layers to self "
                            "(an nn.Sequential or attributes), not to a plain list or local variables")
    if n_params != want:
        raise ExerciseError(f"{name}: PreActBlock(6) has {n_params} parameters, expected {want}; "
                            "two 3×3 convolutions without bias and two BatchNorm2d layers")
    torch.manual_seed(0)
    x = torch.randn(4, 6, 5, 5)
    block.train()
    runs: list[tuple[nn.Module, torch.Tensor]] = []  # (leaf BatchNorm2d / Conv2d, its input), in call order
    hooks = [m.register_forward_pre_hook(lambda m, args: runs.append((m, args[0].detach().clone())))
             for m in block.modules() if isinstance(m, nn.BatchNorm2d | nn.Conv2d)]
    try:
        y = require_answer(call_learner(block, name, x.clone()), name)
    finally:
        for h in hooks:
            h.remove()
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        raise ExerciseError(f"{name}: the output must have the input's shape {tuple(x.shape)}, "
                            f"got {getattr(y, 'shape', type(y).__name__)}")
    if torch.allclose(y, x):
        raise ExerciseError(f"{name}: the output equals the input: is the residual branch added?")
    _check_preact_order(name, runs, x, y.detach())
    passed(name, "identity skip + BN→ReLU→conv twice")


def _check_preact_order(name: str, runs: list[tuple[nn.Module, torch.Tensor]], x: torch.Tensor,
                        y: torch.Tensor) -> None:
    """The layers ran as BN, conv, BN, conv (BN first, on x), and y equals the pre-activation formula
    recomputed from the same layers' parameters."""
    kinds = ["BN" if isinstance(m, nn.BatchNorm2d) else "conv" for m, _ in runs]
    if sorted(kinds) != ["BN", "BN", "conv", "conv"] or len({id(m) for m, _ in runs}) != 4:
        raise ExerciseError(f"{name}: one forward ran the layers {' → '.join(kinds) or 'none'}; expected each "
                            "of two nn.BatchNorm2d and two nn.Conv2d layers to run exactly once")
    if kinds != ["BN", "conv", "BN", "conv"]:
        raise ExerciseError(f"{name}: your layers run in the order {' → '.join(kinds)}; that is not the "
                            "pre-activation order: normalisation and activation come before each convolution")
    if not torch.equal(runs[0][1], x):
        raise ExerciseError(f"{name}: the first BatchNorm receives something other than the block's input; "
                            "the branch starts by normalising x itself")
    (bn1, _), (conv1, _), (bn2, _), (conv2, _) = runs

    def bn(m, t, relu=True):
        out = F.batch_norm(t, None, None, m.weight, m.bias, training=True, eps=m.eps)
        return torch.relu(out) if relu else out

    def conv(m, t):
        return F.conv2d(t, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)  # the learner's settings

    with torch.no_grad():
        branch = conv(conv2, bn(bn2, conv(conv1, bn(bn1, x))))
        no_relu = conv(conv2, bn(bn2, conv(conv1, bn(bn1, x, False)), False))
    ref = x + branch
    if torch.allclose(y, ref, atol=1e-5):
        return
    if torch.allclose(y, torch.relu(ref), atol=1e-5):
        raise ExerciseError(f"{name}: the output is ReLU of the sum; a pre-activation block has no ReLU after "
                            "the addition (the activations come before each conv)")
    if torch.allclose(y, branch, atol=1e-5):
        raise ExerciseError(f"{name}: the output is the residual branch alone; check the skip connection "
                            "(x + branch)")
    if torch.allclose(y, x + no_relu, atol=1e-5):
        raise ExerciseError(f"{name}: the layers run in the right order, but no ReLU follows the BatchNorms")
    raise ExerciseError(f"{name}: the layers run in the right order, but the output differs from the "
                        "pre-activation block built from the same layers; check where each ReLU is applied "
                        "and that the skip adds x unchanged")


@checker
def check_new_head(fn: Callable) -> None:
    """``fn(model, num_classes)``: a torchvision ResNet whose ``fc`` is a new ``nn.Linear`` to ``num_classes``,
    everything else frozen (``requires_grad=False``) and unchanged; returns the model. Also run on a small
    model whose ``fc`` takes 24 features, so the input size must be read from the old layer."""
    from torchvision.models import resnet18

    name = "new_head"
    torch.manual_seed(0)
    model = resnet18(weights=None)
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    out = require_answer(call_learner(fn, name, model, 7), name)
    if not isinstance(out, nn.Module):
        raise ExerciseError(f"{name}: return the model")
    fc = getattr(out, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise ExerciseError(f"{name}: model.fc should be an nn.Linear, got {type(fc).__name__}")
    if fc.in_features != 512 or fc.out_features != 7:
        raise ExerciseError(f"{name}: the new fc maps {fc.in_features} -> {fc.out_features}; it should take the "
                            "features the old fc took (read its in_features) and give num_classes outputs")
    trainable = {k for k, p in out.named_parameters() if p.requires_grad}
    if trainable != {"fc.weight", "fc.bias"}:
        extra = sorted(trainable - {"fc.weight", "fc.bias"})
        if extra:
            raise ExerciseError(f"{name}: {len(extra)} backbone tensors still require grad (e.g. {extra[0]}); "
                                "freeze the backbone with requires_grad_(False)")
        raise ExerciseError(f"{name}: the new fc must be trainable (freeze first, then replace the head)")
    for k, v in out.state_dict().items():
        if k in before and not torch.equal(v, before[k]):
            raise ExerciseError(f"{name}: the backbone tensor {k} changed; only replace the head")
    with torch.no_grad():
        y = out.eval()(torch.randn(2, 3, 32, 32))
    if y.shape != (2, 7):
        raise ExerciseError(f"{name}: the model's output has shape {tuple(y.shape)}, expected (2, 7)")
    other = _head_model()
    width = other.fc.in_features
    out = require_answer(call_learner(fn, name, other, 3), name)
    fc = getattr(out, "fc", None)
    if not isinstance(fc, nn.Linear) or fc.in_features != width or fc.out_features != 3:
        got = f"{fc.in_features} -> {fc.out_features}" if isinstance(fc, nn.Linear) else type(fc).__name__
        raise ExerciseError(f"{name}: on a model whose old fc took {width} features (not a ResNet-18), the new fc "
                            f"maps {got}; read in_features from the old layer instead of writing a number")
    passed(name, "new 7-class head, frozen backbone")


class _SmallNet(nn.Module):
    """Not a ResNet-18: its ``fc`` takes another number of features."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 24, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        return self.fc(self.features(x))


def _head_model() -> nn.Module:
    torch.manual_seed(1)
    return _SmallNet()


@checker
def check_feature_shapes(fn: Callable) -> None:
    """``fn(model, x, names) -> {name: tuple(shape)}`` of each named submodule's output in one forward,
    read with forward hooks that are removed afterwards."""
    from torchvision.models import resnet18

    name = "feature_shapes"
    model = resnet18(weights=None).eval()
    names = ["layer1", "layer3.1.conv2", "avgpool", "fc"]
    want = {"layer1": (2, 64, 16, 16), "layer3.1.conv2": (2, 256, 4, 4), "avgpool": (2, 512, 1, 1), "fc": (2, 1000)}
    got = require_answer(call_learner(fn, name, model, torch.randn(2, 3, 64, 64), names), name)
    if not isinstance(got, dict):
        raise ExerciseError(f"{name}: return a dict {{name: shape}}, got {type(got).__name__}")
    left = sum(len(m._forward_hooks) for m in model.modules())
    if left:
        raise ExerciseError(f"{name}: {left} forward hook(s) are still registered; keep the handles "
                            "register_forward_hook returns and call handle.remove()")
    if set(got) != set(names):
        raise ExerciseError(f"{name}: expected keys {names}, got {sorted(got)}")
    for key, shape in want.items():
        value = got[key]
        value = tuple(value.shape) if isinstance(value, torch.Tensor) else tuple(value) if value is not None else None
        if value != shape:
            raise ExerciseError(f"{name}: wrong shape for {key!r}: got {value}; store tuple(output.shape) in the hook")
    passed(name, "shapes read by hooks, all hooks removed")
