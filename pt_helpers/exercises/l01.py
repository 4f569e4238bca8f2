"""Checkers for notebooks/01_tensors.ipynb (one-hot with scatter_, view vs reshape, roll by hand)."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import torch
import torch.nn.functional as F

from .core import ExerciseError, TorchCalls, call_learner, checker, expect_close, passed

__all__ = ["check_one_hot", "check_flatten_rows", "check_roll2d"]


@checker
def check_one_hot(fn: Callable) -> None:
    """``fn(labels, num_classes)``: ``(N,)`` int64 labels -> ``(N, num_classes)`` float32 one-hot rows,
    built with ``scatter_`` (or ``scatter``); ``F.one_hot`` is switched off while the checker runs."""
    name = "one_hot"
    banned = {"one_hot": f"{name}: your function called F.one_hot, which this exercise asks you to rebuild; "
                         "write the ones into a tensor of zeros with scatter_"}
    for labels, n in ((torch.tensor([3, 0, 9, 3]), 10), (torch.tensor([1]), 2), (torch.arange(5), 5)):
        keep = labels.clone()
        with TorchCalls(banned) as calls:
            got = call_learner(fn, name, labels, n)
        if not torch.equal(labels, keep):
            raise ExerciseError(f"{name}: your function changed the labels it was given; "
                                "write into a new tensor (torch.zeros(...).scatter_(...))")
        if not calls.called(("scatter_", "scatter")):
            raise ExerciseError(f"{name}: your function never called scatter_; the exercise asks you to build "
                                "the rows with scatter_ (look up its dim, index and value arguments)")
        if isinstance(got, torch.Tensor) and got.dtype != torch.float32:
            raise ExerciseError(f"{name}: the result has dtype {got.dtype}; a loss such as MSE needs float32")
        expect_close(got, F.one_hot(labels, n).float(), name, what=f"one-hot of {labels.tolist()}")
    passed(name, "matches torch.nn.functional.one_hot")


@checker
def check_flatten_rows(fn: Callable) -> None:
    """``fn(x)``: ``(..., D)`` -> ``(prod(...), D)``; a view when ``x`` is contiguous, still right when not."""
    name = "flatten_rows"
    x = torch.arange(24.0).reshape(2, 3, 4)
    got = call_learner(fn, name, x)
    expect_close(got, x.reshape(6, 4), name, what="result for a contiguous (2, 3, 4) tensor")
    if got.data_ptr() != x.data_ptr():
        raise ExerciseError(f"{name}: for a contiguous tensor the result should share memory with the input "
                            "(no copy); compare got.data_ptr() with x.data_ptr()")
    t = x.transpose(0, 2)  # (4, 3, 2), not contiguous
    got = call_learner(fn, name, t)
    expect_close(got, t.contiguous().view(12, 2), name, what="result for a non-contiguous (transposed) tensor")
    v = torch.arange(5.0)
    expect_close(call_learner(fn, name, v), v.view(1, 5), name, what="result for a 1-D tensor of 5 values")
    passed(name, "a view when possible, a copy when needed")


def _no_roll(*args, **kwargs):
    raise ExerciseError("roll2d: your function called torch.roll; build it from slicing and torch.cat instead")


@checker
def check_roll2d(fn: Callable) -> None:
    """``fn(x, shift_rows, shift_cols)`` == ``torch.roll(x, (shift_rows, shift_cols), dims=(0, 1))``,
    built from slicing and ``torch.cat`` (torch.roll is switched off while the checker runs)."""
    name = "roll2d"
    x = torch.arange(20).reshape(4, 5)
    for rows, cols in ((-1, -1), (1, 0), (0, 2), (3, -4), (5, 7), (0, 0)):
        with mock.patch.object(torch, "roll", _no_roll), mock.patch.object(torch.Tensor, "roll", _no_roll):
            got = call_learner(fn, name, x, rows, cols)
        want = torch.roll(x, shifts=(rows, cols), dims=(0, 1))
        if isinstance(got, torch.Tensor) and got.shape == want.shape and not torch.equal(got, want):
            raise ExerciseError(f"{name}: wrong values for shift_rows={rows}, shift_cols={cols}; "
                                "try it on torch.arange(20).reshape(4, 5) and compare with torch.roll")
        expect_close(got, want, name, what=f"result for shifts ({rows}, {cols})")
    passed(name, "matches torch.roll for 6 shifts, including negative and wrap-around ones")
