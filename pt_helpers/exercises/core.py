"""Shared pieces of the exercise checkers (see :mod:`pt_helpers.exercises`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["ExerciseError", "passed", "require_answer", "call_learner", "expect_close", "TorchCalls"]


class ExerciseError(AssertionError):
    """The learner's answer is missing or wrong. The message says what to look at, not the answer."""


def passed(name: str, detail: str = "") -> None:
    """Print the one success line a checker ends with."""
    print(f"✓ {name}: correct" + (f" ({detail})" if detail else ""))


def require_answer(value: Any, name: str) -> Any:
    """Fail helpfully when an exercise is still blank (``...`` or a function body that returns None)."""
    if value is None or value is Ellipsis:
        raise ExerciseError(f"{name}: no answer yet. Replace the `...` with your code, run the cell, then check again.")
    return value


def call_learner(fn: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; turn its exceptions into feedback that names the exercise."""
    if not callable(fn):
        raise ExerciseError(f"{name}: expected a function, got {type(fn).__name__}")
    try:
        out = fn(*args, **kwargs)
    except ExerciseError:
        raise
    except Exception as err:  # noqa: BLE001 - any error in learner code becomes feedback
        raise ExerciseError(f"{name}: your function raised {type(err).__name__}: {err}") from err
    return require_answer(out, name)


def expect_close(got: Any, want: torch.Tensor, name: str, *, what: str = "result",
                 atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Compare a learner's tensor with the reference: type, shape, dtype family, then values."""
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{name}: the {what} should be a torch.Tensor, got {type(got).__name__}")
    if got.shape != want.shape:
        raise ExerciseError(f"{name}: the {what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    if got.is_floating_point() != want.is_floating_point():
        raise ExerciseError(f"{name}: the {what} has dtype {got.dtype}, expected a {want.dtype}-like tensor")
    got_d = got.detach().to("cpu", want.dtype)
    if not torch.allclose(got_d, want.detach().cpu(), atol=atol, rtol=rtol):
        worst = (got_d - want.detach().cpu()).abs().max().item()
        raise ExerciseError(f"{name}: the {what} has the right shape but different values "
                            f"(largest difference {worst:.3g}); check your formula on a tiny example")


class TorchCalls(TorchFunctionMode):
    """While active (``with TorchCalls() as calls:``), record the name of every torch function and tensor
    method called and the largest tensor any of them returned. A function is recognised by its own
    ``__name__``, so importing it under another name does not hide it. Names in ``banned`` raise
    ``ExerciseError(banned[name])`` instead of running."""

    def __init__(self, banned: dict[str, str] | None = None):
        super().__init__()
        self.banned = banned or {}
        self.names: set[str] = set()
        self.largest = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        fname = getattr(func, "__name__", "")
        if fname in self.banned:
            raise ExerciseError(self.banned[fname])
        self.names.add(fname)
        out = func(*args, **(kwargs or {}))
        for t in _tensors(out):
            self.largest = max(self.largest, t.numel())
        return out

    def called(self, names: Iterable[str]) -> bool:
        return any(n in self.names for n in names)


def _tensors(value: Any):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, tuple | list):
        for v in value:
            if isinstance(v, torch.Tensor):
                yield v
