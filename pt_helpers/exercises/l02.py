"""Checkers for notebooks/02_autograd_jacobian.ipynb (vᵀJ by hand, a Jacobian from backward, accumulation)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.autograd.functional import jacobian

from .core import ExerciseError, TorchCalls, call_learner, checker, expect_close, passed

__all__ = ["check_softmax_vjp", "check_jacobian_by_backward", "check_accumulated_grad"]


@checker
def check_softmax_vjp(fn: Callable) -> None:
    """``fn(x, v)``: vᵀJ of ``softmax`` at a 1-D ``x``, written by hand without building J (no tensor of
    n² values may appear); compared with autograd's Jacobian."""
    name = "softmax_vjp"
    gen = torch.Generator().manual_seed(2)
    for n in (3, 5, 8):
        x = torch.randn(n, generator=gen, dtype=torch.float64)
        v = torch.randn(n, generator=gen, dtype=torch.float64)
        want = v @ jacobian(lambda t: torch.softmax(t, dim=0), x)
        with TorchCalls() as calls:
            got = call_learner(fn, name, x.clone(), v.clone())
        if n >= 5 and calls.largest >= n * n:
            raise ExerciseError(f"{name}: for n={n} your function made a tensor of {calls.largest} values, as "
                                f"large as the {n}x{n} Jacobian; the exercise asks for vᵀJ without building J: "
                                "expand vᵀ(diag(s) − s sᵀ) into vector operations")
        expect_close(got, want, name, what=f"vᵀJ for n={n}", atol=1e-8)
    passed(name, "equals v @ torch.autograd.functional.jacobian(softmax, x)")


def _f_square(x: torch.Tensor) -> torch.Tensor:
    return x ** 2


def _f_mix(x: torch.Tensor) -> torch.Tensor:  # R^4 -> R^3, not square
    a = torch.arange(12.0, dtype=x.dtype).reshape(3, 4) / 10
    return torch.tanh(a @ x) * x.sum()


@checker
def check_jacobian_by_backward(fn: Callable) -> None:
    """``fn(f, x) -> J`` of shape ``(m, n)`` built row by row with ``backward(gradient=e_i)``."""
    name = "jacobian_by_backward"
    x = torch.tensor([0.5, -1.0, 2.0, 0.25], dtype=torch.float64)
    for f in (_f_square, _f_mix):
        want = jacobian(f, x)
        got = call_learner(fn, name, f, x.clone())
        if isinstance(got, torch.Tensor) and got.shape == want.T.shape and got.shape != want.shape:
            raise ExerciseError(f"{name}: shape {tuple(got.shape)} is transposed; row i of J is the gradient of y[i]")
        expect_close(got, want, name, what=f"Jacobian of {f.__name__.lstrip('_')}", atol=1e-8)
    passed(name, "equals torch.autograd.functional.jacobian for a square and a non-square function")


@checker
def check_accumulated_grad(fn: Callable) -> None:
    """``fn(w, x, y, n_micro)``: the gradient of ``((x @ w - y) ** 2).mean()`` over the whole batch,
    accumulated over ``n_micro`` equal micro-batches (one backward each)."""
    name = "accumulated_grad"
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(8, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(8, generator=gen, dtype=torch.float64)
    w0 = torch.randn(3, generator=gen, dtype=torch.float64)
    w = w0.clone().requires_grad_()
    ((x @ w - y) ** 2).mean().backward()
    want = w.grad
    for n_micro in (1, 2, 4):
        got = call_learner(fn, name, w0.clone(), x, y, n_micro)
        if (isinstance(got, torch.Tensor) and got.shape == want.shape and n_micro > 1
                and torch.allclose(got, n_micro * want)):
            raise ExerciseError(f"{name}: with n_micro={n_micro} your gradient is {n_micro}x too large: "
                                "each micro-batch loss should count 1/n_micro of the batch")
        expect_close(got, want, name, what=f"gradient with n_micro={n_micro}", atol=1e-8)
    passed(name, "micro-batch accumulation equals the full-batch gradient")
