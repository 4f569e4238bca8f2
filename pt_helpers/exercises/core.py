"""Shared pieces of the exercise checkers (see :mod:`pt_helpers.exercises`)."""

from __future__ import annotations

import dis
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["ExerciseError", "NotAnswered", "checker", "passed", "is_stub", "require_answer", "require_written",
           "call_learner", "expect_close", "TorchCalls"]

F = TypeVar("F", bound=Callable[..., Any])


class ExerciseError(AssertionError):
    """The learner's answer is wrong. The message says what to look at, not the answer."""


class NotAnswered(ExerciseError):
    """The exercise is still blank (``...`` left in place). Checkers report it without raising (see
    :func:`checker`), so that Run All in the workbook goes on past exercises the learner has not started."""


def checker(check: F) -> F:
    """Decorator for every ``check_*`` function: a blank answer prints one "no answer yet" line and returns
    ``None`` instead of raising, so a learner's Run All over a fresh workbook runs to the last cell. A wrong
    answer still raises :class:`ExerciseError` (the cell turns red where the learner wrote it)."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return check(*args, **kwargs)
        except NotAnswered as blank:
            print(f"… {blank}")
            return None

    return wrapper  # type: ignore[return-value]


def passed(name: str, detail: str = "") -> None:
    """Print the one success line a checker ends with."""
    print(f"✓ {name}: correct" + (f" ({detail})" if detail else ""))


def require_answer(value: Any, name: str) -> Any:
    """Raise :class:`NotAnswered` when an exercise is still blank (``...`` or a function body that returns None)."""
    if value is None or value is Ellipsis:
        raise NotAnswered(f"{name}: no answer yet. Replace the `...` with your code and run the cell again "
                          "(the rest of the lesson runs without it).")
    return value


def is_stub(obj: Any) -> bool:
    """True for a function whose body is only ``...`` (or ``pass``, or a docstring), as the workbook leaves it,
    and for a class with such a method of its own (an unfinished ``__len__`` or ``forward``)."""
    if isinstance(obj, type):
        return any(is_stub(v) for k, v in vars(obj).items() if callable(v) and not k.startswith("__class"))
    code = getattr(obj, "__code__", None)
    if code is None:
        return False
    ops = [(i.opname, i.argval) for i in dis.get_instructions(code) if i.opname not in ("RESUME", "NOP")]
    return ops in ([("LOAD_CONST", None), ("RETURN_VALUE", None)], [("RETURN_CONST", None)])  # 3.11 / 3.12+


def require_written(obj: Any, name: str) -> Any:
    """Raise :class:`NotAnswered` when the learner's function or class is still the workbook's stub."""
    if is_stub(obj):
        raise NotAnswered(f"{name}: no answer yet. Replace the `...` with your code and run the cell again "
                          "(the rest of the lesson runs without it).")
    return obj


def call_learner(fn: Callable, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; turn its exceptions into feedback that names the exercise."""
    if not callable(fn):
        raise ExerciseError(f"{name}: expected a function, got {type(fn).__name__}")
    require_written(fn, name)
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
