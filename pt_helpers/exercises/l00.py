"""Checkers for notebooks/00_setup.ipynb (choosing a device)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .core import ExerciseError, call_learner, checker, passed, require_answer

__all__ = ["check_choose_device"]

# (requested, cuda_available, mps_available) -> expected device type, or None = must raise
_CASES = [
    (None, True, True, "cuda"), (None, True, False, "cuda"), (None, False, True, "mps"), (None, False, False, "cpu"),
    ("auto", False, True, "mps"), ("auto", False, False, "cpu"),
    ("cpu", True, True, "cpu"), ("cuda", True, False, "cuda"), ("mps", False, True, "mps"),
    ("cuda", False, True, None), ("mps", True, False, None),
]


@checker
def check_choose_device(fn: Callable) -> None:
    """``fn(requested, *, cuda_available, mps_available) -> torch.device``: the course's device rule.

    ``requested`` None or ``"auto"`` picks cuda > mps > cpu; an explicit name is honoured when that
    device exists and raises (ValueError or RuntimeError) when it does not.
    """
    name = "choose_device"
    for requested, cuda, mps, want in _CASES:
        where = f"requested={requested!r}, cuda_available={cuda}, mps_available={mps}"
        if want is None:
            try:
                got = fn(requested, cuda_available=cuda, mps_available=mps)
            except (ValueError, RuntimeError):
                continue
            except Exception as err:  # noqa: BLE001
                raise ExerciseError(f"{name}: with {where} raise ValueError or RuntimeError, "
                                    f"not {type(err).__name__}") from err
            if got is None:
                require_answer(got, name)
            raise ExerciseError(f"{name}: with {where} the requested device does not exist, so the function "
                                f"should raise an error that says so; it returned {got!r}")
        got = call_learner(fn, name, requested, cuda_available=cuda, mps_available=mps)
        if not isinstance(got, torch.device):
            raise ExerciseError(f"{name}: return a torch.device (e.g. torch.device(...)), got {type(got).__name__}")
        if got.type != want:
            raise ExerciseError(f"{name}: with {where} your function chose {got.type!r}; "
                                "check the order of preference and which devices exist in this case")
    passed(name, f"{len(_CASES)} cases")
