"""How big is a model? Parameter counts, a torchsummary table, FLOPs two ways.

Taught in notebooks/05_cnn.ipynb.

* :func:`count_parameters`: total / trainable, per top-level child (shared weights counted once).
* :func:`torchsummary_table`: the classic Keras-style table from ``torchsummary``, run on the
  model's own device. ``torchsummary.summary`` defaults to ``device="cuda"``: on a GPU machine
  with a CPU model it builds CUDA inputs and fails with a type mismatch, and its forward pass in
  train mode updates BatchNorm statistics and draws from the global RNG (``torch.rand``). This
  wrapper runs it on a deep copy in eval mode inside ``torch.random.fork_rng``.
* :func:`count_flops`: thop's count (multiply-accumulates, MACs) cross-checked with PyTorch's own
  ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs). One MAC ``a += w * x`` is two floating
  point operations, so for convolution and linear layers FLOPs = 2 x MACs exactly. thop also counts
  BatchNorm, pooling and activations (as a few ops per element) and ignores functional calls;
  FlopCounterMode counts only matrix multiplications and convolutions, wherever they are called.
  thop adds ``total_ops``/``total_params`` buffers to every module and removes them only from the
  layer types it knows, so it runs here on a deep copy.
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .env import module_device

__all__ = ["ParamCount", "count_parameters", "torchsummary_table", "FlopReport", "count_flops"]


@dataclass(frozen=True)
class ParamCount:
    """Parameter counts; ``children`` maps each top-level child to ``(total, trainable)``."""

    total: int
    trainable: int
    children: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __str__(self) -> str:
        width = max([len(n) for n in self.children] + [len("total")])
        rows = [f"{'child':<{width}}  {'parameters':>12}  {'trainable':>12}"]
        rows += [f"{n:<{width}}  {t:>12,}  {tr:>12,}" for n, (t, tr) in self.children.items()]
        rows.append(f"{'total':<{width}}  {self.total:>12,}  {self.trainable:>12,}")
        return "\n".join(rows)


def _count(params) -> tuple[int, int]:
    seen: dict[int, nn.Parameter] = {}
    for p in params:
        seen.setdefault(id(p), p)
    return (sum(p.numel() for p in seen.values()),
            sum(p.numel() for p in seen.values() if p.requires_grad))


def count_parameters(model: nn.Module) -> ParamCount:
    """Total and trainable parameter counts of ``model`` and of each of its top-level children.

    ``model.parameters()`` yields a shared parameter once, so it is counted once in the total.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_parameters(model): expected an nn.Module, got {type(model).__name__}")
    total, trainable = _count(model.parameters())
    children = {name: _count(child.parameters()) for name, child in model.named_children()}
    own = _count(model.parameters(recurse=False))
    if own[0]:
        children = {"(own parameters)": own, **children}
    return ParamCount(total, trainable, children)


@contextlib.contextmanager
def _isolated(model: nn.Module):
    """A deep copy in eval mode, with the global RNG (CPU and the model's GPU) forked."""
    device = module_device(model)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        yield copy.deepcopy(model).eval()


def torchsummary_table(model: nn.Module, input_size: Sequence[int] | list[Sequence[int]], *,
                       batch_size: int = -1) -> str:
    """``torchsummary.summary`` as a string, run on the model's own device without side effects.

    Args:
        model: any module on CPU or CUDA (an MPS model is summarised on a CPU copy).
        input_size: one input's shape without the batch, e.g. ``(1, 28, 28)``; a list of shapes for
            several inputs.
        batch_size: the batch size printed in the table (-1 = symbolic).
    Returns:
        The table text (print it).
    """
    from torchsummary import summary

    with _isolated(model) as clone:
        device = module_device(clone)
        if device.type not in ("cpu", "cuda"):
            clone = clone.cpu()
            device = torch.device("cpu")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            summary(clone, tuple(input_size) if not isinstance(input_size, list) else input_size,
                    batch_size=batch_size, device=device.type)
    return out.getvalue().rstrip("\n")


@dataclass(frozen=True)
class FlopReport:
    """thop's MACs and FlopCounterMode's FLOPs for one forward pass of one example batch."""

    thop_macs: int  # multiply-accumulates (thop; includes BN/pool/activation estimates)
    params: int  # parameters (thop's count)
    counter_flops: int  # floating point operations of matmul/conv (torch.utils.flop_counter)
    counter_by_op: dict[str, int] = field(default_factory=dict)  # e.g. {"convolution": ..., "addmm": ...}

    @property
    def ratio(self) -> float:
        """counter_flops / thop_macs: exactly 2.0 when only conv/linear layers compute."""
        return self.counter_flops / self.thop_macs if self.thop_macs else float("nan")

    def __str__(self) -> str:
        ops = ", ".join(f"{k} {v:,}" for k, v in self.counter_by_op.items())
        lines = [f"thop:            {self.thop_macs:>14,} MACs   ({self.params:,} parameters)",
                 f"FlopCounterMode: {self.counter_flops:>14,} FLOPs  ({ops})",
                 f"ratio FLOPs / MACs = {self.ratio:.2f}"]
        if abs(self.ratio - 2.0) > 1e-9:
            lines.append("  (not exactly 2: thop also counts normalisation (BatchNorm, LayerNorm), average pooling, "
                         "softmax and up-sampling layers -- not ReLU or max pooling --, FlopCounterMode counts only "
                         "matmul/conv)")
        else:
            lines.append("  (one multiply-accumulate = one multiply + one add = 2 FLOPs)")
        return "\n".join(lines)


def count_flops(model: nn.Module, example: torch.Tensor) -> FlopReport:
    """Count the work of one forward pass on ``example`` with thop and with FlopCounterMode.

    Args:
        model: the model (not modified: both counters run on a deep copy in eval mode).
        example: an input batch, e.g. ``torch.zeros(1, 1, 28, 28)``; counts scale with its batch size.
            It is moved to the model's device.
    Returns:
        A :class:`FlopReport`.
    """
    with warnings.catch_warnings():  # thop 0.1.1 uses distutils' LooseVersion at import
        warnings.simplefilter("ignore", DeprecationWarning)
        import thop

    if not isinstance(example, torch.Tensor):
        raise TypeError(f"count_flops(example): expected an input tensor such as torch.zeros(1, 1, 28, 28), "
                        f"got {type(example).__name__}")
    with _isolated(model) as clone:
        x = example.to(module_device(clone))
        macs, params = thop.profile(clone, inputs=(x,), verbose=False)
    with _isolated(model) as clone:
        counter = FlopCounterMode(display=False)
        with counter:
            clone(example.to(module_device(clone)))
    by_op = {str(op).split(".")[-1]: int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return FlopReport(int(macs), int(params), int(counter.get_total_flops()), by_op)
