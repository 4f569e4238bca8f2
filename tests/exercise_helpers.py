"""Test helper shared by the exercise-checker tests."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any


def assert_blank_reported(check: Callable, answer: Any) -> str:
    """A blank answer must not raise (Run All goes on) and must print the checker's "no answer yet" line."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = check(answer)
    text = out.getvalue()
    assert result is None, f"{check.__name__} returned {result!r} for a blank answer"
    assert "no answer yet" in text, f"{check.__name__} printed {text!r} for a blank answer"
    assert "✓" not in text
    return text
